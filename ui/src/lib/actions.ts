// Small DOM actions for keyboard-first tables and lists.

/**
 * On a table or list: rows marked with [data-row] are focusable; ↑/↓ move between
 * them, Home/End jump, Enter (or a click) runs the row's `onclick` handler.
 */
export function rowKeys(node: HTMLElement) {
  function rows(): HTMLElement[] {
    return Array.from(node.querySelectorAll<HTMLElement>('[data-row]'));
  }
  function onKey(e: KeyboardEvent) {
    const target = e.target as HTMLElement;
    const row = target.closest<HTMLElement>('[data-row]');
    if (!row || row !== target) return; // keys inside a row's buttons keep their meaning
    const list = rows();
    const i = list.indexOf(row);
    let next: HTMLElement | undefined;
    if (e.key === 'ArrowDown') next = list[i + 1];
    else if (e.key === 'ArrowUp') next = list[i - 1];
    else if (e.key === 'Home') next = list[0];
    else if (e.key === 'End') next = list[list.length - 1];
    else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      row.click();
      return;
    } else return;
    e.preventDefault();
    next?.focus();
  }
  node.addEventListener('keydown', onKey);
  return {
    destroy() {
      node.removeEventListener('keydown', onKey);
    },
  };
}

/** ←/→ between the buttons of a tab strip or filter bar. */
export function arrowGroup(node: HTMLElement) {
  function onKey(e: KeyboardEvent) {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    const items = Array.from(node.querySelectorAll<HTMLElement>('button:not([disabled])'));
    const i = items.indexOf(document.activeElement as HTMLElement);
    if (i < 0) return;
    e.preventDefault();
    const next = items[(i + (e.key === 'ArrowRight' ? 1 : -1) + items.length) % items.length];
    next.focus();
    next.click();
  }
  node.addEventListener('keydown', onKey);
  return {
    destroy() {
      node.removeEventListener('keydown', onKey);
    },
  };
}
