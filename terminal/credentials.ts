import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** What pairing gives a terminal; kept in its data folder, readable by its owner only. */
export const Credentials = z.object({
  centralUrl: z.url(),
  terminalId: z.string().min(1),
  secret: z.string().min(20),
  showroomCode: z.string().min(1),
  name: z.string(),
  pairedAt: z.string(),
});
export type Credentials = z.infer<typeof Credentials>;

export const CREDENTIALS_FILE = 'terminal.json';

export function credentialsPath(dataDir: string): string {
  return path.join(dataDir, CREDENTIALS_FILE);
}

/** Writes the credentials with mode 0600 (created that way, never world-readable for a moment). */
export function saveCredentials(dataDir: string, credentials: Credentials): string {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = credentialsPath(dataDir);
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  fs.renameSync(temp, file);
  fs.chmodSync(file, 0o600);
  return file;
}

/** Reads the credentials, or explains what to do when they are missing or unreadable. */
export function loadCredentials(dataDir: string): Credentials {
  const file = credentialsPath(dataDir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new Error(
      `This terminal is not paired (no ${file}). Ask an administrator for a pairing code, then run: npm run terminal -- pair --central URL --code CODE`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON; pair this terminal again.`);
  }
  const result = Credentials.safeParse(parsed);
  if (!result.success) throw new Error(`${file} is incomplete; pair this terminal again.`);
  if (process.platform !== 'win32' && (fs.statSync(file).mode & 0o077) !== 0) {
    throw new Error(
      `${file} can be read by other users of this machine; run: chmod 600 ${file} (or pair again).`,
    );
  }
  return result.data;
}
