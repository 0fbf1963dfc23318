// tinykeys ships types its package.json "exports" does not point at.
declare module "tinykeys" {
  export function tinykeys(target: Window | HTMLElement, bindings: Record<string, (event: KeyboardEvent) => void>): () => void;
}
