import {
  useEffect,
  useEffectEvent,
  useState,
  type ButtonHTMLAttributes,
  type ReactNode,
} from 'react';
import { useTranslation } from 'react-i18next';
import { runShortcut, type ShortcutMap } from './keys.ts';

/** A key's name on a button or in a hint. */
export function Kbd({ children }: { children: ReactNode }) {
  return <kbd className="kbd">{children}</kbd>;
}

type KeyButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & {
  shortcut?: string;
  tone?: 'primary' | 'secondary' | 'danger';
  testId: string;
};

/** A button that shows the key that does the same thing. */
export function KeyButton({
  shortcut,
  tone = 'secondary',
  testId,
  children,
  className,
  type = 'button',
  ...rest
}: KeyButtonProps) {
  return (
    <button
      {...rest}
      type={type}
      className={`button button-${tone}${className === undefined ? '' : ` ${className}`}`}
      data-testid={testId}
      {...(shortcut === undefined
        ? {}
        : { 'aria-keyshortcuts': shortcut.replace('Esc', 'Escape') })}
    >
      <span>{children}</span>
      {shortcut !== undefined && <Kbd>{shortcut}</Kbd>}
    </button>
  );
}

export type BannerMessage = { tone: 'error' | 'info' | 'ok'; text: string };

/** The one message line under the header: errors, and what just happened. */
export function Banner({
  message,
  onClose,
}: {
  message: BannerMessage | null;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  if (message === null) return <div className="banner-space" />;
  return (
    <div
      className={`banner banner-${message.tone}`}
      role={message.tone === 'error' ? 'alert' : 'status'}
      data-testid="banner"
      data-tone={message.tone}
    >
      <span className="banner-text" data-testid="banner-text">
        {message.text}
      </span>
      <button
        type="button"
        className="banner-close"
        onClick={onClose}
        data-testid="banner-close"
        aria-label={t('common.dismiss')}
      >
        ×
      </button>
    </div>
  );
}

/**
 * The screen's shortcuts, on the window in the bubble phase: a field that handled a key itself
 * (and prevented its default) keeps it.
 */
export function useShortcuts(map: ShortcutMap): void {
  const handle = useEffectEvent((event: KeyboardEvent) => {
    if (event.defaultPrevented) return;
    if (runShortcut(map, event)) event.preventDefault();
  });
  useEffect(() => {
    const listener = (event: KeyboardEvent): void => {
      handle(event);
    };
    window.addEventListener('keydown', listener);
    return () => {
      window.removeEventListener('keydown', listener);
    };
  }, []);
}

/** The current time, refreshed every `intervalMs`. */
export function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => {
      setNow(Date.now());
    }, intervalMs);
    return () => {
      clearInterval(timer);
    };
  }, [intervalMs]);
  return now;
}
