// The country operations lead's view: the platform's panels within the token's countries, by hub and zone.
import { t } from '../i18n.js';
import { PLATFORM_CARDS, describe, trend, newStoresAndUsers, breakdown, alerts } from './shared.js';

/** A country operations lead's view: its countries (and hubs or zones, when the token is narrowed to some). */
export function countryView(me) {
  const several = me.countries.length > 1;
  return {
    title: t('Country operations') + ' · ' + me.countries.join(', ') + (me.hubs.length ? ' · ' + me.hubs.map(h => describe('hub', h)).join(', ') : '')
      + (me.zones.length ? ' · ' + me.zones.map(z => describe('zone', z)).join(', ') : ''),
    cards: PLATFORM_CARDS,
    dimensions: [...(several ? ['country'] : []), 'hub', 'zone', 'source', 'platform', 'category'],
    panels: [alerts(), trend(), ...(several ? [breakdown('country')] : []), breakdown('hub'), breakdown('zone'), breakdown('source'), newStoresAndUsers()],
  };
}
