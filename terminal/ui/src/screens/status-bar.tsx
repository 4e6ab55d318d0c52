import { useTranslation } from 'react-i18next';
import type { StreamState } from '../event-stream.ts';
import { ageOf, formatPoints } from '../format.ts';
import { Kbd, useNow } from '../parts.tsx';
import type { StaffView, StatusView } from '../types.ts';

type StatusBarProps = {
  status: StatusView | null;
  stream: StreamState;
  staff: StaffView | null;
  onToggleLanguage: () => void;
  onSignOut: () => void;
};

/** The bottom line on every screen: link to central, sync, outbox, devices, who, language. */
export function StatusBar({ status, stream, staff, onToggleLanguage, onSignOut }: StatusBarProps) {
  const { t, i18n } = useTranslation();
  const now = useNow(15_000);
  const isCounterLost = stream === 'retrying';
  const link = isCounterLost ? 'lost' : (status?.link ?? 'connecting');
  const age = ageOf(status?.lastSyncAt ?? null, now);
  const lastSync =
    age.unit === 'never'
      ? t('status.never')
      : age.unit === 'now'
        ? t('status.justNow')
        : t(`status.ago.${age.unit}`, { count: age.count });

  return (
    <footer className="status-bar" data-testid="status-bar">
      <span
        className={`status-item status-link status-link-${link}`}
        data-testid="status-link"
        data-link={link}
        title={status?.linkMessage ?? undefined}
      >
        <span className="status-dot" aria-hidden="true" />
        {t(`status.link.${link}`)}
      </span>
      <span className="status-item" data-testid="status-last-sync">
        {t('status.lastSync')}: {lastSync}
      </span>
      <span className="status-item" data-testid="status-pending" data-count={status?.pending ?? 0}>
        {t('status.pending')}: {formatPoints(status?.pending ?? 0)}
      </span>
      {status !== null && status.refused > 0 && (
        <span
          className="status-item status-bad"
          data-testid="status-refused"
          data-count={status.refused}
        >
          {t('status.refused')}: {formatPoints(status.refused)}
        </span>
      )}
      {status !== null && (
        <span
          className={`status-item status-printer-${status.printer.state}`}
          data-testid="status-printer"
          data-state={status.printer.state}
          title={status.printer.message ?? undefined}
        >
          {t('status.printer')}: {t(`printer.${status.printer.state}`)}
          {status.printer.message !== null && status.printer.state !== 'ready' && (
            <> — {status.printer.message}</>
          )}
        </span>
      )}
      {status !== null && (
        <span className="status-item" data-testid="status-scanners">
          {t('status.scanners')}:{' '}
          {status.scanners.length === 0
            ? t('status.keyboardOnly')
            : status.scanners
                .map((scanner) => `${scanner.name} ${t(`scanner.${scanner.state}`)}`)
                .join(', ')}
        </span>
      )}
      <span className="status-spacer" />
      {staff !== null && (
        <span className="status-item" data-testid="status-staff" data-role={staff.role}>
          {staff.name} ({t(`role.${staff.role}`)})
        </span>
      )}
      <button
        type="button"
        className="status-button"
        onClick={onToggleLanguage}
        data-testid="status-language"
        lang={i18n.language === 'hi' ? 'en' : 'hi'}
        aria-keyshortcuts="Alt+L"
      >
        {i18n.language === 'hi' ? 'English' : 'हिन्दी'} <Kbd>Alt+L</Kbd>
      </button>
      {staff !== null && (
        <button
          type="button"
          className="status-button"
          onClick={onSignOut}
          data-testid="status-sign-out"
          aria-keyshortcuts="Alt+S"
        >
          {t('status.signOut')} <Kbd>Alt+S</Kbd>
        </button>
      )}
    </footer>
  );
}
