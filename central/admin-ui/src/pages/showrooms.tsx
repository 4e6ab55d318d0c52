import { useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Showroom } from '../../../../shared/protocol/api.ts';
import { UpdateShowroomRequest, type ShowroomView } from '../../../../shared/protocol/admin.ts';
import { post, put, seg } from '../api.ts';
import { useAction, useFetch } from '../hooks.ts';
import { PageHead, ReadOnlyNote } from '../layout.tsx';
import { EmptyRow, LoadState } from '../parts/cells.tsx';
import { Field, FormProblem, SaveButton } from '../parts/forms.tsx';
import { useSession } from '../session.tsx';
import { checkWith } from '../validate.ts';

type Editing = { mode: 'add' } | { mode: 'edit'; showroom: ShowroomView } | null;

/** Showrooms: list, add, rename or move (the code stays). */
export function Showrooms() {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const list = useFetch<{ showrooms: ShowroomView[] }>('/api/showrooms');
  const [editing, setEditing] = useState<Editing>(null);
  const showrooms = list.data?.showrooms ?? [];
  return (
    <section>
      <PageHead title={t('showrooms.title')} testid="showrooms-title">
        {isAdmin && (
          <button
            type="button"
            className="primary"
            data-testid="showroom-add"
            onClick={() => {
              setEditing({ mode: 'add' });
            }}
          >
            {t('showrooms.add')}
          </button>
        )}
      </PageHead>
      <ReadOnlyNote />
      {editing && (
        <ShowroomForm
          key={editing.mode === 'edit' ? editing.showroom.code : 'add'}
          editing={editing}
          onDone={(saved) => {
            setEditing(null);
            if (saved) list.reload();
          }}
        />
      )}
      <LoadState
        isLoading={list.isLoading}
        problem={list.problem}
        hasData={list.data !== undefined}
        testid="showrooms"
      />
      <div className="table-wrap">
        <table data-testid="showrooms-table">
          <thead>
            <tr>
              <th scope="col">{t('showrooms.code')}</th>
              <th scope="col">{t('showrooms.name')}</th>
              <th scope="col">{t('showrooms.city')}</th>
              {isAdmin && <th scope="col">{t('common.actions')}</th>}
            </tr>
          </thead>
          <tbody>
            {showrooms.map((s) => (
              <tr key={s.code} data-testid={`showroom-row-${s.code}`}>
                <td data-testid="showroom-code-cell">{s.code}</td>
                <td>{s.name}</td>
                <td>{s.city}</td>
                {isAdmin && (
                  <td>
                    <button
                      type="button"
                      data-testid={`showroom-edit-${s.code}`}
                      onClick={() => {
                        setEditing({ mode: 'edit', showroom: s });
                      }}
                    >
                      {t('common.edit')}
                    </button>
                  </td>
                )}
              </tr>
            ))}
            {list.data && showrooms.length === 0 && (
              <EmptyRow columns={isAdmin ? 4 : 3} testid="showrooms-empty">
                {t('showrooms.empty')}
              </EmptyRow>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ShowroomForm(props: { editing: NonNullable<Editing>; onDone: (saved: boolean) => void }) {
  const { t } = useTranslation();
  const { editing } = props;
  const [code, setCode] = useState(editing.mode === 'edit' ? editing.showroom.code : '');
  const [name, setName] = useState(editing.mode === 'edit' ? editing.showroom.name : '');
  const [city, setCity] = useState(editing.mode === 'edit' ? editing.showroom.city : '');
  const action = useAction();
  const { problem } = action;

  function submit(event: SubmitEvent) {
    event.preventDefault();
    if (editing.mode === 'add') {
      const checked = checkWith(Showroom, { code: code.trim().toUpperCase(), name, city });
      if (!checked.ok) {
        action.setProblem(checked.problem);
        return;
      }
      void action
        .run(() => post('/api/showrooms', checked.data))
        .then((ok) => {
          if (ok) props.onDone(true);
        });
      return;
    }
    const checked = checkWith(UpdateShowroomRequest, { name, city });
    if (!checked.ok) {
      action.setProblem(checked.problem);
      return;
    }
    void action
      .run(() => put(`/api/showrooms/${seg(editing.showroom.code)}`, checked.data))
      .then((ok) => {
        if (ok) props.onDone(true);
      });
  }

  return (
    <form className="card editor" onSubmit={submit} data-testid="showroom-form" noValidate>
      <h2>
        {editing.mode === 'add'
          ? t('showrooms.addTitle')
          : t('showrooms.editTitle', { code: editing.showroom.code })}
      </h2>
      <div className="form-grid">
        <Field
          label={t('showrooms.code')}
          pointer="/code"
          problem={problem}
          testid="showroom-code"
          hint={t('showrooms.codeHint')}
        >
          <input
            value={code}
            disabled={editing.mode === 'edit'}
            autoCapitalize="characters"
            onChange={(e) => {
              setCode(e.target.value);
            }}
            data-testid="showroom-code"
          />
        </Field>
        <Field label={t('showrooms.name')} pointer="/name" problem={problem} testid="showroom-name">
          <input
            value={name}
            onChange={(e) => {
              setName(e.target.value);
            }}
            data-testid="showroom-name"
          />
        </Field>
        <Field label={t('showrooms.city')} pointer="/city" problem={problem} testid="showroom-city">
          <input
            value={city}
            onChange={(e) => {
              setCity(e.target.value);
            }}
            data-testid="showroom-city"
          />
        </Field>
      </div>
      <FormProblem
        problem={problem}
        pointers={['/code', '/name', '/city']}
        testid="showroom-error"
      />
      <div className="actions">
        <button
          type="button"
          onClick={() => {
            props.onDone(false);
          }}
          disabled={action.isSaving}
          data-testid="showroom-cancel"
        >
          {t('common.cancel')}
        </button>
        <SaveButton isSaving={action.isSaving} label={t('common.save')} testid="showroom-save" />
      </div>
    </form>
  );
}
