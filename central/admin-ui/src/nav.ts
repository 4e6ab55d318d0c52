/** The console's pages, as the sidebar lists them. `adminOnly` pages are hidden from managers. */
export type NavItem = {
  path: string;
  label:
    | 'dashboard'
    | 'showrooms'
    | 'terminals'
    | 'staff'
    | 'categories'
    | 'settings'
    | 'sms'
    | 'members'
    | 'reportSales'
    | 'reportLiability'
    | 'reportMembers'
    | 'reportPatterns'
    | 'reportSms'
    | 'audit';
  adminOnly?: boolean;
};

export type NavSection = {
  title: 'overview' | 'setup' | 'members' | 'reports' | 'admin';
  items: NavItem[];
};

export const NAV: NavSection[] = [
  { title: 'overview', items: [{ path: '/', label: 'dashboard' }] },
  {
    title: 'setup',
    items: [
      { path: '/setup/showrooms', label: 'showrooms' },
      { path: '/setup/terminals', label: 'terminals' },
      { path: '/setup/staff', label: 'staff' },
      { path: '/setup/categories', label: 'categories' },
      { path: '/setup/settings', label: 'settings' },
      { path: '/setup/sms', label: 'sms' },
    ],
  },
  { title: 'members', items: [{ path: '/members', label: 'members' }] },
  {
    title: 'reports',
    items: [
      { path: '/reports/sales', label: 'reportSales' },
      { path: '/reports/liability', label: 'reportLiability' },
      { path: '/reports/members', label: 'reportMembers' },
      { path: '/reports/patterns', label: 'reportPatterns' },
      { path: '/reports/sms', label: 'reportSms' },
    ],
  },
  { title: 'admin', items: [{ path: '/audit', label: 'audit', adminOnly: true }] },
];
