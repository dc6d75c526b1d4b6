// What a page shows from one query: the newest request wins (a slow answer for last
// week never replaces this week's), and a failure becomes a message on the page.
import { toError } from './api';

export class Loader<T> {
  value = $state() as T;
  error = $state('');
  loaded = $state(false);
  #seq = 0;

  constructor(initial: T) {
    this.value = initial;
  }

  async load(fetch: () => Promise<T>): Promise<void> {
    const mine = ++this.#seq;
    try {
      const value = await fetch();
      if (mine !== this.#seq) return;
      this.value = value;
      this.error = '';
    } catch (e) {
      if (mine === this.#seq) this.error = toError(e).message;
    } finally {
      if (mine === this.#seq) this.loaded = true;
    }
  }
}
