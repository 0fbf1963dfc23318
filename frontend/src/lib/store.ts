/** A tiny observable value for UI state that lives outside React (socket status, outbox, toasts). */
import { useSyncExternalStore } from "react";

export class Store<T> {
  private listeners = new Set<() => void>();
  constructor(private value: T) {}
  get = (): T => this.value;
  set(value: T | ((previous: T) => T)): void {
    this.value = typeof value === "function" ? (value as (p: T) => T)(this.value) : value;
    for (const listener of this.listeners) listener();
  }
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}

export function useStore<T>(store: Store<T>): T {
  return useSyncExternalStore(store.subscribe, store.get, store.get);
}

export interface Toast {
  id: string;
  message: string;
  tone?: "info" | "error";
  action?: { label: string; run: () => void };
}

export const toasts = new Store<Toast[]>([]);

export function toast(message: string, options: Omit<Toast, "id" | "message"> & { timeoutMs?: number } = {}): string {
  const id = crypto.randomUUID();
  toasts.set((list) => [...list.slice(-3), { id, message, tone: options.tone, action: options.action }]);
  setTimeout(() => dismissToast(id), options.timeoutMs ?? 6000);
  return id;
}

export function dismissToast(id: string): void {
  toasts.set((list) => list.filter((t) => t.id !== id));
}
