// The storefront's copy of Segment's browser SDK (analytics-next), bundled from npm.
import { AnalyticsBrowser } from '@segment/analytics-next';
window.AnalyticsBrowser = AnalyticsBrowser;
