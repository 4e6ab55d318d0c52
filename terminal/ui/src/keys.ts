/** The parts of a KeyboardEvent a shortcut depends on. */
export type KeyLike = {
  key: string;
  code: string;
  ctrlKey: boolean;
  altKey: boolean;
  metaKey: boolean;
};

/**
 * A key press as a shortcut name: "F4", "Escape", "Delete", "Ctrl+Enter", "Alt+L" (Shift is
 * ignored). Alt and Ctrl letters go by their physical key (`code`), so Alt+L works whatever the
 * keyboard layout.
 */
export function shortcutOf(event: KeyLike): string {
  const letter = /^Key([A-Z])$/.exec(event.code)?.[1];
  const base = (event.ctrlKey || event.altKey) && letter !== undefined ? letter : event.key;
  const prefix =
    (event.ctrlKey ? 'Ctrl+' : '') + (event.altKey ? 'Alt+' : '') + (event.metaKey ? 'Meta+' : '');
  return `${prefix}${base}`;
}

/** Shortcut names to actions; an action returning false did not handle the key. */
export type ShortcutMap = Partial<Record<string, () => boolean | undefined>>;

/** Runs the action for a key press; true when it was handled (the screen prevents the default). */
export function runShortcut(map: ShortcutMap, event: KeyLike): boolean {
  const action = map[shortcutOf(event)];
  if (action === undefined) return false;
  return action() !== false;
}
