import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { ScopeDialog } from "../../src/components/TaskEditor";

afterEach(cleanup);

describe("the scope dialog of a recurring task", () => {
  it("offers the scopes, starts on the first allowed one, and answers the one picked", () => {
    const onPick = vi.fn();
    render(<ScopeDialog title="Delete which occurrences?" scopes={["this", "future", "all"]} onPick={onPick} onCancel={() => undefined} />);
    expect(screen.getByRole("dialog", { name: "Delete which occurrences?" })).toBeTruthy();
    expect((screen.getByLabelText("This occurrence") as HTMLInputElement).checked).toBe(true);
    fireEvent.click(screen.getByLabelText("All occurrences"));
    fireEvent.click(screen.getByRole("button", { name: "OK" }));
    expect(onPick).toHaveBeenCalledWith("all");
  });

  it("does not let a rule change apply to this occurrence only", () => {
    const onPick = vi.fn();
    render(
      <ScopeDialog title="Change which occurrences?" scopes={["this", "future"]} disabled={["this"]} note="A new rule applies from here on." onPick={onPick} onCancel={() => undefined} />,
    );
    const only = screen.getByLabelText("This occurrence") as HTMLInputElement;
    expect(only.disabled).toBe(true);
    expect((screen.getByLabelText("This and future occurrences") as HTMLInputElement).checked).toBe(true);
    fireEvent.click(screen.getByRole("button", { name: "OK" }));
    expect(onPick).toHaveBeenCalledWith("future");
  });

  it("cancels without picking", () => {
    const onPick = vi.fn();
    const onCancel = vi.fn();
    render(<ScopeDialog title="Change which occurrences?" scopes={["this", "future"]} onPick={onPick} onCancel={onCancel} />);
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(onCancel).toHaveBeenCalled();
    expect(onPick).not.toHaveBeenCalled();
  });
});
