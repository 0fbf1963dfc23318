import { Command as Cmdk } from "cmdk";
import * as Dialog from "@radix-ui/react-dialog";
import { shortcutLabel, type Command } from "../commands";

/** Ctrl/Cmd+K: every palette command of the registry, searchable. */
export default function CommandPalette({ commands, onClose }: { commands: Command[]; onClose: () => void }) {
  const groups = ["Tasks", "Navigate", "App"] as const;
  return (
    <Dialog.Root open onOpenChange={(open) => !open && onClose()}>
      <Dialog.Portal>
        <Dialog.Overlay className="overlay" />
        <Dialog.Content className="palette" aria-describedby={undefined}>
          <Dialog.Title className="visually-hidden">Command palette</Dialog.Title>
          <Cmdk label="Command palette" loop>
            <Cmdk.Input placeholder="Type a command…" aria-label="Command" autoFocus />
            <Cmdk.List>
              <Cmdk.Empty>No matching command.</Cmdk.Empty>
              {groups.map((group) => (
                <Cmdk.Group key={group} heading={group}>
                  {commands
                    .filter((c) => c.palette && c.group === group)
                    .map((c) => (
                      <Cmdk.Item
                        key={c.id}
                        value={c.title}
                        onSelect={() => {
                          onClose();
                          // After the dialog returns focus, so focus-moving commands win.
                          setTimeout(c.run, 0);
                        }}
                      >
                        <span>{c.title}</span>
                        {c.shortcut ? <kbd>{shortcutLabel(c.shortcut)}</kbd> : null}
                      </Cmdk.Item>
                    ))}
                </Cmdk.Group>
              ))}
            </Cmdk.List>
          </Cmdk>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
