import { Suspense, useState } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router';
import { useTranslation } from 'react-i18next';
import { NAV } from './nav.ts';
import { useSession } from './session.tsx';

/**
 * Header (who is signed in, sign out) and the page list: a sidebar on a desktop, a menu under
 * the header on a tablet (the Menu button opens it; choosing a page closes it).
 */
export function Layout() {
  const { t } = useTranslation();
  const { session, isAdmin, signOut } = useSession();
  const location = useLocation();
  const [openAt, setOpenAt] = useState<string | null>(null);
  // The menu closes by itself once a page is chosen: it is open only at the path it opened on.
  const isMenuOpen = openAt === location.pathname;
  return (
    <div className="shell">
      <a className="skip" href="#main">
        {t('layout.skip')}
      </a>
      <header className="topbar" data-testid="header">
        <button
          type="button"
          className="menu-toggle"
          aria-expanded={isMenuOpen}
          aria-controls="nav"
          data-testid="nav-toggle"
          onClick={() => {
            setOpenAt(isMenuOpen ? null : location.pathname);
          }}
        >
          {t('layout.menu')}
        </button>
        <span className="brand">{t('app.name')}</span>
        <span className="who">
          <span data-testid="header-user">{session.staff.name}</span>{' '}
          <span className="badge" data-testid="header-role" data-role={session.staff.role}>
            {t(`roles.${session.staff.role}`)}
          </span>
          {session.staff.showroomCode !== null && (
            <span className="badge soft" data-testid="header-showroom">
              {session.staff.showroomCode}
            </span>
          )}
        </span>
        <button type="button" data-testid="sign-out" onClick={signOut}>
          {t('layout.signOut')}
        </button>
      </header>
      <nav
        id="nav"
        className={`sidebar${isMenuOpen ? ' open' : ''}`}
        aria-label={t('layout.pages')}
        data-testid="nav"
      >
        {NAV.map((section) => {
          const items = section.items.filter((item) => isAdmin || item.adminOnly !== true);
          if (items.length === 0) return null;
          return (
            <div className="nav-section" key={section.title}>
              <h2>{t(`nav.section.${section.title}`)}</h2>
              <ul>
                {items.map((item) => (
                  <li key={item.path}>
                    <NavLink
                      to={item.path}
                      end={item.path === '/' || item.path === '/members'}
                      data-testid={`nav-${item.label}`}
                    >
                      {t(`nav.${item.label}`)}
                    </NavLink>
                  </li>
                ))}
              </ul>
            </div>
          );
        })}
      </nav>
      <main id="main" tabIndex={-1}>
        <Suspense
          fallback={
            <p className="loading" data-testid="page-loading">
              {t('common.loading')}
            </p>
          }
        >
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}

/** A page's heading and the buttons beside it. */
export function PageHead(props: { title: string; testid: string; children?: React.ReactNode }) {
  return (
    <div className="page-head">
      <h1 data-testid={props.testid}>{props.title}</h1>
      {props.children !== undefined && <div className="page-actions">{props.children}</div>}
    </div>
  );
}

/** Shown to managers where an admin could change something: they can read, not write. */
export function ReadOnlyNote() {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  if (isAdmin) return null;
  return (
    <p className="note" data-testid="read-only-note">
      {t('layout.readOnly')}
    </p>
  );
}
