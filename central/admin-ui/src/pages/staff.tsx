import { useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { CreateStaffRequest, PinRequest, type StaffRole } from '../../../../shared/protocol/api.ts';
import {
  ResetPasswordRequest,
  UpdateStaffRequest,
  type ShowroomView,
  type StaffAdminView,
  type StaffList,
} from '../../../../shared/protocol/admin.ts';
import { post, put, seg } from '../api.ts';
import { useAction, useFetch } from '../hooks.ts';
import { PageHead, ReadOnlyNote } from '../layout.tsx';
import { EmptyRow, LoadState, When } from '../parts/cells.tsx';
import { ConfirmDialog } from '../parts/confirm.tsx';
import { Field, FormProblem, FormActions, SaveButton } from '../parts/forms.tsx';
import { useSession } from '../session.tsx';
import { checkWith } from '../validate.ts';

const ROLES: StaffRole[] = ['cashier', 'manager', 'admin'];

type Editing = { mode: 'add' } | { mode: 'edit'; username: string } | null;

/** Staff: list; add; change role, showroom, active; reset password; set the counter PIN. */
export function Staff() {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const list = useFetch<StaffList>('/api/staff');
  const showrooms = useFetch<{ showrooms: ShowroomView[] }>('/api/showrooms');
  const [editing, setEditing] = useState<Editing>(null);
  const staff = list.data?.staff ?? [];
  const codes = (showrooms.data?.showrooms ?? []).map((s) => s.code);
  const person =
    editing?.mode === 'edit' ? staff.find((s) => s.username === editing.username) : undefined;
  return (
    <section>
      <PageHead title={t('staff.title')} testid="staff-title">
        {isAdmin && (
          <button
            type="button"
            className="primary"
            data-testid="staff-add"
            onClick={() => {
              setEditing({ mode: 'add' });
            }}
          >
            {t('staff.add')}
          </button>
        )}
      </PageHead>
      <ReadOnlyNote />
      {editing?.mode === 'add' && (
        <AddStaff
          showroomCodes={codes}
          onDone={(saved) => {
            setEditing(null);
            if (saved) list.reload();
          }}
        />
      )}
      {person && (
        <EditStaff
          key={person.username}
          person={person}
          showroomCodes={codes}
          onSaved={list.reload}
          onClose={() => {
            setEditing(null);
          }}
        />
      )}
      <LoadState
        isLoading={list.isLoading}
        problem={list.problem}
        hasData={list.data !== undefined}
        testid="staff"
      />
      <div className="table-wrap">
        <table data-testid="staff-table">
          <thead>
            <tr>
              <th scope="col">{t('staff.username')}</th>
              <th scope="col">{t('staff.name')}</th>
              <th scope="col">{t('staff.role')}</th>
              <th scope="col">{t('staff.showroom')}</th>
              <th scope="col">{t('staff.active')}</th>
              <th scope="col">{t('staff.pin')}</th>
              <th scope="col">{t('staff.created')}</th>
              {isAdmin && <th scope="col">{t('common.actions')}</th>}
            </tr>
          </thead>
          <tbody>
            {staff.map((s) => (
              <tr
                key={s.username}
                data-testid={`staff-row-${s.username}`}
                className={s.active ? '' : 'inactive'}
              >
                <td className="mono">{s.username}</td>
                <td>{s.name}</td>
                <td data-testid="staff-role" data-value={s.role}>
                  {t(`roles.${s.role}`)}
                </td>
                <td data-testid="staff-showroom" data-value={s.showroomCode ?? ''}>
                  {s.showroomCode ?? t('staff.chainWide')}
                </td>
                <td data-testid="staff-active" data-value={String(s.active)}>
                  {s.active ? t('common.yes') : t('staff.inactive')}
                </td>
                <td data-testid="staff-has-pin" data-value={String(s.hasPin)}>
                  {s.hasPin ? t('common.yes') : t('common.no')}
                </td>
                <td>
                  <When at={s.createdAt} />
                </td>
                {isAdmin && (
                  <td>
                    <button
                      type="button"
                      data-testid={`staff-edit-${s.username}`}
                      onClick={() => {
                        setEditing({ mode: 'edit', username: s.username });
                      }}
                    >
                      {t('common.edit')}
                    </button>
                  </td>
                )}
              </tr>
            ))}
            {list.data && staff.length === 0 && (
              <EmptyRow columns={isAdmin ? 8 : 7} testid="staff-empty">
                {t('staff.empty')}
              </EmptyRow>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ShowroomSelect(props: {
  value: string;
  codes: string[];
  onChange: (value: string) => void;
  testid: string;
}) {
  const { t } = useTranslation();
  return (
    <select
      value={props.value}
      onChange={(e) => {
        props.onChange(e.target.value);
      }}
      data-testid={props.testid}
    >
      <option value="">{t('staff.chainWide')}</option>
      {props.codes.map((code) => (
        <option key={code} value={code}>
          {code}
        </option>
      ))}
    </select>
  );
}

function RoleSelect(props: {
  value: StaffRole;
  onChange: (role: StaffRole) => void;
  testid: string;
}) {
  const { t } = useTranslation();
  return (
    <select
      value={props.value}
      onChange={(e) => {
        props.onChange(e.target.value as StaffRole);
      }}
      data-testid={props.testid}
    >
      {ROLES.map((role) => (
        <option key={role} value={role}>
          {t(`roles.${role}`)}
        </option>
      ))}
    </select>
  );
}

function AddStaff(props: { showroomCodes: string[]; onDone: (saved: boolean) => void }) {
  const { t } = useTranslation();
  const [form, setForm] = useState({
    username: '',
    name: '',
    role: 'cashier' as StaffRole,
    showroomCode: '',
    password: '',
    pin: '',
  });
  const action = useAction();
  const { problem } = action;
  const set = (key: keyof typeof form) => (value: string) => {
    setForm((f) => ({ ...f, [key]: value }));
  };

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const checked = checkWith(CreateStaffRequest, {
      username: form.username.trim(),
      name: form.name,
      role: form.role,
      password: form.password,
      ...(form.pin === '' ? {} : { pin: form.pin }),
      ...(form.showroomCode === '' ? {} : { showroomCode: form.showroomCode }),
    });
    if (!checked.ok) {
      action.setProblem(checked.problem);
      return;
    }
    void action
      .run(() => post('/api/staff', checked.data))
      .then((ok) => {
        if (ok) props.onDone(true);
      });
  }

  return (
    <form className="card editor" onSubmit={submit} data-testid="staff-form" noValidate>
      <h2>{t('staff.addTitle')}</h2>
      <div className="form-grid">
        <Field
          label={t('staff.username')}
          pointer="/username"
          problem={problem}
          testid="staff-username"
          hint={t('staff.usernameHint')}
        >
          <input
            value={form.username}
            autoCapitalize="none"
            autoComplete="off"
            onChange={(e) => {
              set('username')(e.target.value);
            }}
            data-testid="staff-username"
          />
        </Field>
        <Field label={t('staff.name')} pointer="/name" problem={problem} testid="staff-name">
          <input
            value={form.name}
            onChange={(e) => {
              set('name')(e.target.value);
            }}
            data-testid="staff-name"
          />
        </Field>
        <Field label={t('staff.role')} pointer="/role" problem={problem} testid="staff-role-input">
          <RoleSelect value={form.role} onChange={set('role')} testid="staff-role-input" />
        </Field>
        <Field
          label={t('staff.showroom')}
          pointer="/showroomCode"
          problem={problem}
          testid="staff-showroom-input"
        >
          <ShowroomSelect
            value={form.showroomCode}
            codes={props.showroomCodes}
            onChange={set('showroomCode')}
            testid="staff-showroom-input"
          />
        </Field>
        <Field
          label={t('staff.password')}
          pointer="/password"
          problem={problem}
          testid="staff-password"
          hint={t('staff.passwordHint')}
        >
          <input
            type="password"
            autoComplete="new-password"
            value={form.password}
            onChange={(e) => {
              set('password')(e.target.value);
            }}
            data-testid="staff-password"
          />
        </Field>
        <Field
          label={t('staff.pinOptional')}
          pointer="/pin"
          problem={problem}
          testid="staff-pin-input"
          hint={t('staff.pinHint')}
        >
          <input
            type="password"
            inputMode="numeric"
            autoComplete="off"
            value={form.pin}
            onChange={(e) => {
              set('pin')(e.target.value);
            }}
            data-testid="staff-pin-input"
          />
        </Field>
      </div>
      <FormProblem
        problem={problem}
        pointers={['/username', '/name', '/role', '/showroomCode', '/password', '/pin']}
        testid="staff-error"
      />
      <FormActions
        isSaving={action.isSaving}
        onCancel={() => {
          props.onDone(false);
        }}
        cancelTestid="staff-cancel"
        saveLabel={t('staff.create')}
        saveTestid="staff-save"
      />
    </form>
  );
}

function EditStaff(props: {
  person: StaffAdminView;
  showroomCodes: string[];
  onSaved: () => void;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const { person } = props;
  const [name, setName] = useState(person.name);
  const [role, setRole] = useState<StaffRole>(person.role);
  const [showroomCode, setShowroomCode] = useState(person.showroomCode ?? '');
  const [isActive, setActive] = useState(person.active);
  const [isConfirming, setConfirming] = useState(false);
  const details = useAction();
  const [password, setPassword] = useState('');
  const passwordAction = useAction();
  const [passwordDone, setPasswordDone] = useState<string | null>(null);
  const [pin, setPin] = useState('');
  const pinAction = useAction();
  const [pinDone, setPinDone] = useState(false);

  const changes = {
    ...(name !== person.name ? { name } : {}),
    ...(role !== person.role ? { role } : {}),
    ...((showroomCode === '' ? null : showroomCode) !== person.showroomCode
      ? { showroomCode: showroomCode === '' ? null : showroomCode }
      : {}),
    ...(isActive !== person.active ? { active: isActive } : {}),
  };

  function saveDetails() {
    const checked = checkWith(UpdateStaffRequest, changes);
    if (!checked.ok) {
      details.setProblem(checked.problem);
      setConfirming(false);
      return;
    }
    void details
      .run(() => put(`/api/staff/${seg(person.username)}`, checked.data))
      .then((ok) => {
        if (ok) {
          setConfirming(false);
          props.onSaved();
        }
      });
  }

  function submitDetails(event: SubmitEvent) {
    event.preventDefault();
    // Deactivating ends the person's sessions and takes them off every counter: confirm first.
    if (person.active && !isActive) setConfirming(true);
    else saveDetails();
  }

  function submitPassword(event: SubmitEvent) {
    event.preventDefault();
    setPasswordDone(null);
    const checked = checkWith(ResetPasswordRequest, { password });
    if (!checked.ok) {
      passwordAction.setProblem(checked.problem);
      return;
    }
    void passwordAction.run(async () => {
      const answer = await put<{ sessionsEnded: number }>(
        `/api/staff/${seg(person.username)}/password`,
        checked.data,
      );
      setPasswordDone(t('staff.passwordDone', { count: answer.sessionsEnded }));
      setPassword('');
    });
  }

  function submitPin(event: SubmitEvent) {
    event.preventDefault();
    setPinDone(false);
    const checked = checkWith(PinRequest, { pin });
    if (!checked.ok) {
      pinAction.setProblem(checked.problem);
      return;
    }
    void pinAction
      .run(() => put(`/api/staff/${seg(person.username)}/pin`, checked.data))
      .then((ok) => {
        if (ok) {
          setPinDone(true);
          setPin('');
          props.onSaved();
        }
      });
  }

  return (
    <div className="card editor" data-testid="staff-editor">
      <div className="page-head">
        <h2>{t('staff.editTitle', { username: person.username })}</h2>
        <button type="button" onClick={props.onClose} data-testid="staff-editor-close">
          {t('common.close')}
        </button>
      </div>
      <form onSubmit={submitDetails} data-testid="staff-edit-form" noValidate>
        <div className="form-grid">
          <Field
            label={t('staff.name')}
            pointer="/name"
            problem={details.problem}
            testid="staff-edit-name"
          >
            <input
              value={name}
              onChange={(e) => {
                setName(e.target.value);
              }}
              data-testid="staff-edit-name"
            />
          </Field>
          <Field
            label={t('staff.role')}
            pointer="/role"
            problem={details.problem}
            testid="staff-edit-role"
          >
            <RoleSelect value={role} onChange={setRole} testid="staff-edit-role" />
          </Field>
          <Field
            label={t('staff.showroom')}
            pointer="/showroomCode"
            problem={details.problem}
            testid="staff-edit-showroom"
          >
            <ShowroomSelect
              value={showroomCode}
              codes={props.showroomCodes}
              onChange={setShowroomCode}
              testid="staff-edit-showroom"
            />
          </Field>
          <Field
            label={t('staff.active')}
            pointer="/active"
            problem={details.problem}
            testid="staff-edit-active"
          >
            <input
              type="checkbox"
              checked={isActive}
              onChange={(e) => {
                setActive(e.target.checked);
              }}
              data-testid="staff-edit-active"
            />
          </Field>
        </div>
        <FormProblem
          problem={details.problem}
          pointers={['/name', '/role', '/showroomCode', '/active']}
          testid="staff-edit-error"
        />
        <div className="actions">
          <SaveButton
            isSaving={details.isSaving}
            disabled={Object.keys(changes).length === 0}
            label={t('common.save')}
            testid="staff-edit-save"
          />
        </div>
      </form>
      <div className="sub-forms">
        <form onSubmit={submitPassword} data-testid="staff-password-form" noValidate>
          <h3>{t('staff.resetPassword')}</h3>
          <Field
            label={t('staff.newPassword')}
            pointer="/password"
            problem={passwordAction.problem}
            testid="staff-new-password"
            hint={t('staff.passwordHint')}
          >
            <input
              type="password"
              autoComplete="new-password"
              value={password}
              onChange={(e) => {
                setPassword(e.target.value);
              }}
              data-testid="staff-new-password"
            />
          </Field>
          <FormProblem
            problem={passwordAction.problem}
            pointers={['/password']}
            testid="staff-reset-password-error"
          />
          {passwordDone !== null && (
            <p className="ok" role="status" data-testid="staff-password-done">
              {passwordDone}
            </p>
          )}
          <SaveButton
            isSaving={passwordAction.isSaving}
            label={t('staff.resetPassword')}
            testid="staff-password-save"
          />
        </form>
        <form onSubmit={submitPin} data-testid="staff-pin-form" noValidate>
          <h3>{t('staff.setPin')}</h3>
          <Field
            label={t('staff.newPin')}
            pointer="/pin"
            problem={pinAction.problem}
            testid="staff-new-pin"
            hint={t('staff.pinHint')}
          >
            <input
              type="password"
              inputMode="numeric"
              autoComplete="off"
              value={pin}
              onChange={(e) => {
                setPin(e.target.value);
              }}
              data-testid="staff-new-pin"
            />
          </Field>
          <FormProblem problem={pinAction.problem} pointers={['/pin']} testid="staff-pin-error" />
          {pinDone && (
            <p className="ok" role="status" data-testid="staff-pin-done">
              {t('staff.pinDone')}
            </p>
          )}
          <SaveButton
            isSaving={pinAction.isSaving}
            label={t('staff.setPin')}
            testid="staff-pin-save"
          />
        </form>
      </div>
      <ConfirmDialog
        isOpen={isConfirming}
        title={t('staff.deactivateTitle')}
        confirmLabel={t('staff.deactivate')}
        isBusy={details.isSaving}
        problem={details.problem}
        testid="deactivate"
        onCancel={() => {
          setConfirming(false);
        }}
        onConfirm={saveDetails}
      >
        <p>{t('staff.deactivateBody', { name: person.name, username: person.username })}</p>
      </ConfirmDialog>
    </div>
  );
}
