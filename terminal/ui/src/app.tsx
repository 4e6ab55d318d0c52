import { useEffect, useEffectEvent, useMemo, useReducer, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { createApi, type Api } from './api.ts';
import { billReducer, createBill } from './bill.ts';
import { openEventStream, type StreamState } from './event-stream.ts';
import { changeLanguage } from './i18n/index.ts';
import { describeError } from './i18n/errors.ts';
import { Banner, useShortcuts, type BannerMessage } from './parts.tsx';
import { EnrolScreen } from './screens/enrol.tsx';
import { LedgerScreen } from './screens/ledger.tsx';
import { LookupScreen } from './screens/lookup.tsx';
import { MemberPanel } from './screens/member-panel.tsx';
import type { SmsNews } from './screens/redemption.tsx';
import { SaleDoneScreen } from './screens/sale-done.tsx';
import { SaleScreen } from './screens/sale.tsx';
import { SignInScreen } from './screens/sign-in.tsx';
import { StatusBar } from './screens/status-bar.tsx';
import { savedSession, saveSession } from './token.ts';
import { useWedgeScanner } from './use-wedge.ts';
import type {
  Category,
  CounterEvent,
  MemberCard,
  PrintOutcome,
  Product,
  SaleDone,
  ScanResult,
  SignedIn,
  StaffView,
  StatusView,
} from './types.ts';

type Screen =
  | { name: 'starting' }
  | { name: 'sign-in' }
  | { name: 'lookup'; text: string }
  | { name: 'enrol'; mobile: string }
  | { name: 'member' }
  | { name: 'sale' }
  | { name: 'sale-done'; done: SaleDone }
  | { name: 'ledger' };

/** The counter's screens: one state, the event stream, the scanner, the status bar. */
export function App({ token }: { token: string }) {
  const { t, i18n } = useTranslation();
  const [session, setSession] = useState<string | null>(() => savedSession());
  const sessionRef = useRef(session);
  const [staff, setStaff] = useState<StaffView | null>(null);
  const [status, setStatus] = useState<StatusView | null>(null);
  const [stream, setStream] = useState<StreamState>('connecting');
  const [screen, setScreen] = useState<Screen>({ name: 'starting' });
  const [member, setMember] = useState<MemberCard | null>(null);
  const [bill, dispatch] = useReducer(billReducer, undefined, () => createBill());
  const [categories, setCategories] = useState<Category[] | null>(null);
  const [banner, setBanner] = useState<BannerMessage | null>(null);
  const [sms, setSms] = useState<SmsNews | null>(null);

  // The API client lives as long as the page; what a sign-out does depends on the latest render.
  const signedOutRef = useRef<() => void>(() => undefined);
  useEffect(() => {
    signedOutRef.current = () => {
      endSession(t('errors.signed-out'));
    };
  });
  const api: Api = useMemo(
    () =>
      createApi({
        token,
        session: () => sessionRef.current,
        onSignedOut: () => {
          signedOutRef.current();
        },
      }),
    [token],
  );

  function storeSession(next: string | null): void {
    sessionRef.current = next;
    saveSession(next);
    setSession(next);
  }

  function endSession(reason: string | null): void {
    storeSession(null);
    setStaff(null);
    setMember(null);
    dispatch({ type: 'start', billNumber: '' });
    setScreen({ name: 'sign-in' });
    setBanner(reason === null ? null : { tone: 'info', text: reason });
  }

  function showError(failure: unknown): void {
    setBanner({ tone: 'error', text: describeError(failure, t, i18n.language) });
  }

  // Start: the status (who is signed in with the saved session, if anyone).
  useEffect(() => {
    let isCurrent = true;
    api.status().then(
      (answer) => {
        if (!isCurrent) return;
        setStatus(answer);
        if (answer.staff !== null && sessionRef.current !== null) {
          setStaff(answer.staff);
          setScreen({ name: 'lookup', text: '' });
        } else {
          sessionRef.current = null;
          saveSession(null);
          setSession(null);
          setScreen({ name: 'sign-in' });
        }
      },
      (failure: unknown) => {
        if (!isCurrent) return;
        setScreen({ name: 'sign-in' });
        setBanner({ tone: 'error', text: describeError(failure, t, i18n.language) });
      },
    );
    return () => {
      isCurrent = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once per page: later changes arrive as status events
  }, [api]);

  // The catalogue, once someone is signed in.
  const isSignedIn = staff !== null;
  useEffect(() => {
    if (!isSignedIn) return;
    let isCurrent = true;
    api.catalogue().then(
      (catalogue) => {
        if (isCurrent) setCategories(catalogue.categories);
      },
      (failure: unknown) => {
        if (isCurrent) {
          setCategories([]);
          showError(failure);
        }
      },
    );
    return () => {
      isCurrent = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- showError only reports; fetch once per sign-in, not per render
  }, [api, isSignedIn]);

  const onEvent = useEffectEvent((event: CounterEvent) => {
    switch (event.type) {
      case 'status':
        setStatus(event.status);
        return;
      case 'scan':
        handleScan(event.result);
        return;
      case 'member':
        if (member !== null && member.mobile === event.mobile && staff !== null) {
          api.member(event.mobile).then(
            (fresh) => {
              setMember((open) => (open !== null && open.mobile === fresh.mobile ? fresh : open));
            },
            () => {
              // The member's card stays as it was; the next look-up shows the change.
            },
          );
        }
        return;
      case 'redeem:sms':
        setSms((previous) => ({
          seq: (previous?.seq ?? 0) + 1,
          redemptionId: event.redemptionId,
          delivery: event.delivery,
          error: event.error,
        }));
        return;
    }
  });

  // The event stream, reopened when the session changes so its status carries the staff.
  useEffect(() => {
    return openEventStream({
      url: '/api/events',
      headers: api.headers,
      onEvent: (event) => {
        onEvent(event);
      },
      onState: setStream,
    });
  }, [api, session]);

  function handleScan(result: ScanResult): void {
    if (staff === null || screen.name === 'sign-in' || screen.name === 'starting') {
      setBanner({ tone: 'info', text: t('scan.signInFirst') });
      return;
    }
    if (bill.redemption?.status === 'awaiting-otp') {
      setBanner({ tone: 'info', text: t('scan.finishRedemption') });
      return;
    }
    switch (result.kind) {
      case 'member':
        if (screen.name === 'sale') {
          if (bill.redemption !== null) {
            setBanner({ tone: 'error', text: t('scan.redemptionOnBill') });
            return;
          }
          // The bill stays; it is now for this member.
          setMember(result.member);
          setBanner({ tone: 'info', text: t('scan.memberForBill', { name: result.member.name }) });
          return;
        }
        openMember(result.member);
        return;
      case 'product':
        if (screen.name === 'sale') {
          addProduct(result.product);
        } else if (member !== null && (screen.name === 'member' || screen.name === 'ledger')) {
          void startSale(result.product);
        } else {
          setBanner({ tone: 'info', text: t('scan.productNeedsMember') });
        }
        return;
      case 'unknown':
        setBanner({ tone: 'error', text: result.message });
        return;
    }
  }

  // A scan's answer arrives after a render or two: it must meet the screen as it is then.
  const scanResultRef = useRef(handleScan);
  useEffect(() => {
    scanResultRef.current = handleScan;
  });
  useWedgeScanner((code) => {
    if (staff === null) {
      setBanner({ tone: 'info', text: t('scan.signInFirst') });
      return;
    }
    api.scan(code).then((result) => {
      scanResultRef.current(result);
    }, showError);
  });

  function addProduct(product: Product): void {
    dispatch({
      type: 'add-line',
      sku: product.sku,
      categoryCode: product.categoryCode,
      categoryName: product.categoryName,
      productName: product.name,
      quantity: 1,
      shouldFocus: true,
    });
  }

  function openMember(next: MemberCard): void {
    if (bill.redemption !== null) {
      setBanner({ tone: 'error', text: t('scan.redemptionOnBill') });
      return;
    }
    if (member?.mobile !== next.mobile) dispatch({ type: 'start', billNumber: '' });
    setMember(next);
    setBanner(null);
    setScreen({ name: 'member' });
  }

  async function startSale(product?: Product): Promise<void> {
    if (member === null) return;
    setBanner(null);
    if (bill.lines.length === 0 && bill.redemption === null) {
      let billNumber = '';
      try {
        billNumber = (await api.nextBill()).billNumber;
      } catch (failure) {
        showError(failure);
      }
      dispatch({ type: 'start', billNumber });
    }
    if (product) addProduct(product);
    setScreen({ name: 'sale' });
  }

  function print(run: () => Promise<PrintOutcome>, okText: string): void {
    run().then((outcome) => {
      setBanner(
        outcome.ok
          ? { tone: 'ok', text: okText }
          : { tone: 'error', text: outcome.message ?? t('print.failed') },
      );
    }, showError);
  }

  function signOut(): void {
    api.signOut().catch(() => {
      // Signed out here either way; the counter forgets idle sessions by itself.
    });
    endSession(null);
  }

  function toggleLanguage(): void {
    void changeLanguage(i18n.language === 'hi' ? 'en' : 'hi');
  }

  useShortcuts({
    'Alt+L': () => {
      toggleLanguage();
      return true;
    },
    'Alt+S': () => {
      if (staff === null) return false;
      if (bill.redemption !== null) {
        setBanner({ tone: 'error', text: t('scan.redemptionOnBill') });
        return true;
      }
      signOut();
      return true;
    },
  });

  function onSignedIn(signedIn: SignedIn): void {
    storeSession(signedIn.session);
    setStaff(signedIn.staff);
    setBanner(null);
    setScreen({ name: 'lookup', text: '' });
    api.status().then(setStatus, () => {
      // The event stream brings the status soon enough.
    });
  }

  function backToLookup(): void {
    if (bill.redemption !== null) {
      setBanner({ tone: 'error', text: t('scan.redemptionOnBill') });
      return;
    }
    setMember(null);
    dispatch({ type: 'start', billNumber: '' });
    setScreen({ name: 'lookup', text: '' });
  }

  const pointValuePaise = status?.pointValuePaise ?? 0;

  function renderScreen() {
    if (screen.name === 'starting') return <p className="panel hint">{t('common.loading')}</p>;
    if (screen.name === 'sign-in' || staff === null) {
      return <SignInScreen api={api} onSignedIn={onSignedIn} />;
    }
    switch (screen.name) {
      case 'lookup':
        return (
          <LookupScreen
            api={api}
            initialText={screen.text}
            onOpen={openMember}
            onEnrol={(mobile) => {
              setBanner(null);
              setScreen({ name: 'enrol', mobile });
            }}
          />
        );
      case 'enrol':
        return (
          <EnrolScreen
            api={api}
            initialMobile={screen.mobile}
            onEnrolled={(enrolled) => {
              openMember(enrolled);
              setBanner({ tone: 'ok', text: t('enrol.done', { name: enrolled.name }) });
            }}
            onBack={() => {
              setScreen({ name: 'lookup', text: screen.mobile });
            }}
          />
        );
      case 'sale-done':
        return (
          <SaleDoneScreen
            api={api}
            done={screen.done}
            pointValuePaise={pointValuePaise}
            onNext={backToLookup}
          />
        );
      default:
        break;
    }
    if (member === null) return <p className="panel hint">{t('common.loading')}</p>;
    switch (screen.name) {
      case 'member':
        return (
          <MemberPanel
            member={member}
            pointValuePaise={pointValuePaise}
            hasOpenBill={bill.lines.length > 0}
            onNewSale={() => {
              void startSale();
            }}
            onLedger={() => {
              setBanner(null);
              setScreen({ name: 'ledger' });
            }}
            onPrintSlip={() => {
              print(() => api.printPointSlip(member.mobile), t('print.slipPrinted'));
            }}
            onPrintCard={() => {
              print(() => api.printMemberCard(member.mobile), t('print.cardPrinted'));
            }}
            onChangeMember={backToLookup}
          />
        );
      case 'sale':
        return (
          <SaleScreen
            api={api}
            member={member}
            pointValuePaise={pointValuePaise}
            link={status?.link ?? null}
            categories={categories}
            bill={bill}
            dispatch={dispatch}
            sms={sms}
            onCompleted={(done) => {
              setMember(done.member);
              dispatch({ type: 'start', billNumber: done.nextBillNumber });
              setBanner(null);
              setScreen({ name: 'sale-done', done });
            }}
            onBack={() => {
              setScreen({ name: 'member' });
            }}
          />
        );
      case 'ledger':
        return (
          <LedgerScreen
            api={api}
            member={member}
            role={staff.role}
            onBack={() => {
              setScreen({ name: 'member' });
            }}
            onPrinted={(text, isOk) => {
              setBanner({ tone: isOk ? 'ok' : 'error', text });
            }}
          />
        );
    }
  }

  return (
    <div className="app" lang={i18n.language}>
      <header className="top">
        <span className="top-chain" data-testid="header-chain">
          {status?.chainName ?? t('app.name')}
        </span>
        <span className="top-showroom" data-testid="header-showroom">
          {status?.showroomName ?? ''}
        </span>
        {member !== null && screen.name !== 'sign-in' && screen.name !== 'lookup' && (
          <span className="top-member" data-testid="header-member">
            {member.name} · {member.maskedMobile}
          </span>
        )}
      </header>
      <Banner
        message={banner}
        onClose={() => {
          setBanner(null);
        }}
      />
      <main className="screen">{renderScreen()}</main>
      <StatusBar
        status={status}
        stream={stream}
        staff={staff}
        onToggleLanguage={toggleLanguage}
        onSignOut={signOut}
      />
    </div>
  );
}
