import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { fieldMessages, unclaimedErrors, type ApiProblem } from '../problem.ts';

/**
 * A labelled field with the messages central (or the form's own check) gave for its pointer,
 * right under it. `testid` names the field's error element `<testid>-error`.
 */
export function Field(props: {
  label: string;
  pointer?: string;
  problem?: ApiProblem | undefined;
  hint?: string;
  testid: string;
  children: ReactNode;
  wide?: boolean;
}) {
  const messages =
    props.pointer !== undefined && props.problem
      ? fieldMessages(props.problem.errors, props.pointer)
      : [];
  return (
    <div className={`field${props.wide === true ? ' field-wide' : ''}`}>
      <label>
        <span className="field-label">{props.label}</span>
        {props.children}
      </label>
      {props.hint !== undefined && <span className="field-hint">{props.hint}</span>}
      {messages.length > 0 && (
        <span className="field-error" role="alert" data-testid={`${props.testid}-error`}>
          {messages.join('; ')}
        </span>
      )}
    </div>
  );
}

/**
 * The form's refusal: central's `detail`, and any field error that no field on the form shows
 * (so nothing central said is lost).
 */
export function FormProblem(props: {
  problem: ApiProblem | undefined;
  pointers?: readonly string[];
  testid: string;
}) {
  const { problem } = props;
  if (!problem) return null;
  const rest = unclaimedErrors(problem.errors, props.pointers ?? []);
  return (
    <div className="form-problem" role="alert" data-testid={props.testid} data-code={problem.code}>
      <p>{problem.detail}</p>
      {rest.length > 0 && (
        <ul>
          {rest.map((e) => (
            <li key={`${e.pointer}:${e.message}`}>
              {e.pointer === '/' ? '' : `${e.pointer}: `}
              {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A submit button that says it is saving and cannot be pressed twice. */
export function SaveButton(props: {
  isSaving: boolean;
  label: string;
  testid: string;
  disabled?: boolean;
  tone?: 'primary' | 'danger';
  type?: 'submit' | 'button';
  onClick?: () => void;
}) {
  const { t } = useTranslation();
  return (
    <button
      type={props.type ?? 'submit'}
      className={props.tone === 'danger' ? 'danger' : 'primary'}
      disabled={props.isSaving || props.disabled === true}
      aria-busy={props.isSaving}
      data-testid={props.testid}
      onClick={props.onClick}
    >
      {props.isSaving ? t('common.saving') : props.label}
    </button>
  );
}

/** A form's Cancel and submit buttons; Cancel is off while the form saves. */
export function FormActions(props: {
  isSaving: boolean;
  onCancel: () => void;
  cancelTestid: string;
  saveLabel: string;
  saveTestid: string;
}) {
  const { t } = useTranslation();
  return (
    <div className="actions">
      <button
        type="button"
        disabled={props.isSaving}
        onClick={props.onCancel}
        data-testid={props.cancelTestid}
      >
        {t('common.cancel')}
      </button>
      <SaveButton isSaving={props.isSaving} label={props.saveLabel} testid={props.saveTestid} />
    </div>
  );
}
