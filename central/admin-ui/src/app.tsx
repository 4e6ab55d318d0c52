import { lazy, useCallback, useEffect, useMemo, useState } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { ConsoleSession } from '../../../shared/protocol/console.ts';
import { client } from './api.ts';
import { ApiProblem } from './problem.ts';
import { Layout } from './layout.tsx';
import { SessionContext, type SessionValue } from './session.tsx';
import { SignIn } from './pages/sign-in.tsx';

// Pages load when first opened: the sign-in screen needs none of them (nor chart.js, nor the
// phone-number metadata the protocol's schemas carry).
const Dashboard = lazy(() =>
  import('./pages/dashboard.tsx').then((m) => ({ default: m.Dashboard })),
);
const Showrooms = lazy(() =>
  import('./pages/showrooms.tsx').then((m) => ({ default: m.Showrooms })),
);
const Terminals = lazy(() =>
  import('./pages/terminals.tsx').then((m) => ({ default: m.Terminals })),
);
const Staff = lazy(() => import('./pages/staff.tsx').then((m) => ({ default: m.Staff })));
const Categories = lazy(() =>
  import('./pages/categories.tsx').then((m) => ({ default: m.Categories })),
);
const ProgramSettingsPage = lazy(() =>
  import('./pages/program-settings.tsx').then((m) => ({ default: m.ProgramSettingsPage })),
);
const SmsSettingsPage = lazy(() =>
  import('./pages/sms-settings.tsx').then((m) => ({ default: m.SmsSettingsPage })),
);
const MemberSearch = lazy(() =>
  import('./pages/member-search.tsx').then((m) => ({ default: m.MemberSearch })),
);
const MemberPage = lazy(() =>
  import('./pages/member.tsx').then((m) => ({ default: m.MemberPage })),
);
const AuditLog = lazy(() => import('./pages/audit-log.tsx').then((m) => ({ default: m.AuditLog })));
const ReportRoute = lazy(() =>
  import('./pages/reports.tsx').then((m) => ({ default: m.ReportRoute })),
);

type SessionState =
  | { state: 'checking' }
  | { state: 'signed-out'; notice?: string }
  | { state: 'in'; session: ConsoleSession };

/** Asks central who is signed in; shows sign-in until someone is, then the console. */
export function App() {
  const { t } = useTranslation();
  const [state, setState] = useState<SessionState>({ state: 'checking' });

  const enter = useCallback((session: ConsoleSession) => {
    client.setCsrfToken(session.csrfToken);
    setState({ state: 'in', session });
  }, []);

  useEffect(() => {
    client.onSignedOut(() => {
      client.setCsrfToken(null);
      setState({ state: 'signed-out', notice: t('signIn.expired') });
    });
    client
      .request<ConsoleSession>('GET', '/api/console/session', undefined, { quiet401: true })
      .then(enter, (error: unknown) => {
        setState({
          state: 'signed-out',
          ...(error instanceof ApiProblem && error.status !== 401 ? { notice: error.detail } : {}),
        });
      });
  }, [enter, t]);

  const signOut = useCallback(() => {
    client
      .request('DELETE', '/api/console/session', undefined, { quiet401: true })
      .catch(() => undefined)
      .finally(() => {
        client.setCsrfToken(null);
        setState({ state: 'signed-out' });
      });
  }, []);

  const value = useMemo<SessionValue | null>(
    () =>
      state.state === 'in'
        ? { session: state.session, isAdmin: state.session.staff.role === 'admin', signOut }
        : null,
    [state, signOut],
  );

  if (state.state === 'checking') {
    return (
      <p className="loading center" data-testid="session-checking">
        {t('common.loading')}
      </p>
    );
  }
  if (value === null) {
    return (
      <SignIn onSignedIn={enter} notice={state.state === 'signed-out' ? state.notice : undefined} />
    );
  }
  return (
    <SessionContext.Provider value={value}>
      <Routes>
        <Route element={<Layout />}>
          <Route index element={<Dashboard />} />
          <Route path="setup/showrooms" element={<Showrooms />} />
          <Route path="setup/terminals" element={<Terminals />} />
          <Route path="setup/staff" element={<Staff />} />
          <Route path="setup/categories" element={<Categories />} />
          <Route path="setup/settings" element={<ProgramSettingsPage />} />
          <Route path="setup/sms" element={<SmsSettingsPage />} />
          <Route path="members" element={<MemberSearch />} />
          <Route path="members/:memberId" element={<MemberPage />} />
          <Route path="reports/:reportId" element={<ReportRoute />} />
          <Route path="audit" element={<AuditLog />} />
          <Route path="*" element={<Navigate to="/" replace />} />
        </Route>
      </Routes>
    </SessionContext.Provider>
  );
}
