// The dashboards' views, one module a role (views/admin.js, views/country.js, views/vendor.js) over
// the pieces they share (views/shared.js: panels and how values read; views/cards.js: the KPI
// cards). Every figure comes from the public metrics API with the reader's token; the scope is the
// server's business, the view only chooses what to ask for.
import { setStoreNames } from './views/shared.js';
import { adminView } from './views/admin.js';
import { countryView } from './views/country.js';
import { vendorView } from './views/vendor.js';

export { Cards } from './views/cards.js';
export { drawPanel, refreshPanel, describe, DIMENSION_LABELS } from './views/shared.js';

/** The view of the reader's role (from /api/me): title, cards, filter dimensions and panels. */
export function viewFor(me) {
  setStoreNames(me.store_names ?? {});
  switch (me.role) {
    case 'admin':
    case 'analyst':
      return adminView();
    case 'country_ops_lead':
      return countryView(me);
    case 'vendor':
      return vendorView(me);
    default:
      throw new Error('No dashboard for the role ' + me.role + '.');
  }
}
