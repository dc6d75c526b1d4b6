// One form's error and busy state. An ErrorDto from the core names the fields in error
// (`problems`, the first also as `field`); every input carrying data-field="<field>" of
// one of them gets aria-invalid, the first gets focus, and the message (or the list of
// problems) is shown next to the form (FormError.svelte, data-testid="form-error").
import { tick } from 'svelte';
import type { ErrorDto } from '../bindings/ErrorDto';
import type { Field } from '../bindings/Field';
import { toError } from './api';

let shown: Form | null = null;

export class Form {
  error = $state<ErrorDto | null>(null);
  busy = $state(false);

  /** aria-invalid value for the input bound to `field`. */
  inv(field: Field): 'true' | undefined {
    const err = this.error;
    if (!err) return undefined;
    if (err.problems.length) return err.problems.some((p) => p.field === field) ? 'true' : undefined;
    return err.field === field ? 'true' : undefined;
  }

  clear() {
    this.error = null;
    if (shown === this) shown = null;
  }

  /** Shows an error (from the core or a local check) and focuses the named input. */
  async show(e: unknown) {
    const err = toError(e);
    if (shown && shown !== this) shown.error = null; // one message on screen at a time
    shown = this;
    this.error = err;
    await tick();
    const first = err.problems[0]?.field ?? err.field;
    if (!first) return;
    const scope: ParentNode = document.querySelector('dialog[open]') ?? document;
    const marked = scope.querySelector<HTMLElement>(`[data-field="${first}"][aria-invalid="true"]`);
    // a radio group carries the mark itself: focus its checked (or first) radio
    const el = marked?.matches('input, select, textarea, button')
      ? marked
      : (marked?.querySelector<HTMLElement>('input:checked') ?? marked?.querySelector<HTMLElement>('input, select, textarea'));
    if (el && !el.hasAttribute('disabled')) {
      el.focus();
      if (el instanceof HTMLInputElement && el.type !== 'radio' && el.type !== 'checkbox') el.select();
    }
  }

  /**
   * A live check while the clerk types: marks the field and shows the message without
   * moving focus or selecting the text (the clerk is still typing in it).
   */
  warn(field: Field, message: string, code = 'validation.local') {
    if (shown && shown !== this) shown.error = null;
    shown = this;
    this.error = { code, field, message, problems: [] };
  }

  /** Local validation failure in the UI's own words (e.g. passwords differ). */
  fail(field: Field | null, message: string, code = 'validation.local') {
    void this.show({ code, field, message, problems: [] });
  }

  /** Runs a command; on rejection keeps the form open with the error. True on success. */
  async run(fn: () => Promise<unknown>): Promise<boolean> {
    if (this.busy) return false;
    this.busy = true;
    this.clear();
    try {
      await fn();
      return true;
    } catch (e) {
      await this.show(e);
      return false;
    } finally {
      this.busy = false;
    }
  }
}
