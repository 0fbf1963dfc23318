/** One IndexedDB database per signed-in user: the write outbox, id map and the query cache. */
import { openDB, type IDBPDatabase } from "idb";

export type TaskbeatDB = IDBPDatabase;

const cache = new Map<string, Promise<TaskbeatDB>>();

export function openUserDb(userId: number | string): Promise<TaskbeatDB> {
  const name = `taskbeat-user-${userId}`;
  let db = cache.get(name);
  if (!db) {
    db = openDB(name, 1, {
      upgrade(database) {
        database.createObjectStore("outbox", { keyPath: "key" });
        database.createObjectStore("meta");
        database.createObjectStore("cache");
      },
    });
    cache.set(name, db);
  }
  return db;
}

export async function deleteUserDb(userId: number | string): Promise<void> {
  const name = `taskbeat-user-${userId}`;
  const db = cache.get(name);
  cache.delete(name);
  if (db) (await db).close();
  await new Promise<void>((resolve) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}
