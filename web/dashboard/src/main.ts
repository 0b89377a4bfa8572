import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { StoaDashboard } from './app.ts';
import { StoaEvents } from './events.ts';
import { StoaKeys } from './keys.ts';
import { StoaUsage } from './usage.ts';
import { StoaWebhooks } from './webhooks.ts';

customElements.define('stoa-keys', StoaKeys);
customElements.define('stoa-webhooks', StoaWebhooks);
customElements.define('stoa-events', StoaEvents);
customElements.define('stoa-usage', StoaUsage);
customElements.define('stoa-dashboard', StoaDashboard);
