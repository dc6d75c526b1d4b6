// One print button's outcome: the PDF's path, glyphs the font lacks, or the error.
import type { PrintOutcome } from '../bindings/PrintOutcome';
import { toError } from './api';

export class Printer {
  outcome = $state<PrintOutcome | null>(null);
  error = $state('');
  busy = $state(false);

  async run(fn: () => Promise<PrintOutcome>): Promise<PrintOutcome | null> {
    if (this.busy) return null;
    this.busy = true;
    this.error = '';
    try {
      this.outcome = await fn();
      return this.outcome;
    } catch (e) {
      this.outcome = null;
      this.error = toError(e).message;
      return null;
    } finally {
      this.busy = false;
    }
  }
}
