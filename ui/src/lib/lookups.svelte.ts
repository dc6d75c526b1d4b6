// Small lists many forms need (lead sources, staff), fetched once per login.
import type { Settings } from '../bindings/Settings';
import type { Staff } from '../bindings/Staff';
import { call } from './api';
import { setCentreZone } from './format';
import { app } from './state.svelte';

let staffCache: Promise<Staff[]> | null = null;

export async function settings(refresh = false): Promise<Settings> {
  if (!app.settings || refresh) {
    app.settings = await call('settings_get');
    setCentreZone(app.settings.timezone);
  }
  return app.settings;
}

export function staff(refresh = false): Promise<Staff[]> {
  if (!staffCache || refresh) {
    staffCache = call('staff_list').catch((e) => {
      staffCache = null;
      throw e;
    });
  }
  return staffCache;
}

export function forgetLookups() {
  staffCache = null;
  app.settings = null;
}
