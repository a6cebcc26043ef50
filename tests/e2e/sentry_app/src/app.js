// A shop page instrumented the way a Sentry user instruments one: the unmodified
// @sentry/browser SDK, configured only with a DSN (here: Vigil's collector), a release and
// an environment. window.SENTRY_DSN & co. are written into index.html by the test's server.
import * as Sentry from '@sentry/browser';

Sentry.init({
  dsn: window.SENTRY_DSN,
  release: window.SENTRY_RELEASE,
  environment: window.SENTRY_ENVIRONMENT,
  integrations: [Sentry.browserTracingIntegration(), Sentry.httpClientIntegration()],
  tracesSampleRate: 1.0,
});

function priceOf(item) {
  // Throws for an item without a price: the bug this page is about.
  return item.price.amount;
}

function addToCart() {
  const total = priceOf({ name: 'socks' });
  document.querySelector('#total').textContent = String(total);
}

async function loadRecommendations() {
  throw new TypeError('recommendations service answered 503');
}

function checkout() {
  Sentry.setUser({ id: 'user-42' });
  Sentry.setTag('plan', 'pro');
  Sentry.addBreadcrumb({ category: 'cart', message: 'checkout started', level: 'info', data: { items: 3 } });
  try {
    JSON.parse('{"broken": ');
  } catch (error) {
    Sentry.captureException(error, { tags: { step: 'payment' } });
  }
}

function greet() {
  Sentry.captureMessage('cart viewed', 'info');
}

function pay() {
  // the payment API answers 503: httpClientIntegration reports the failed request
  fetch('/api/pay', { method: 'POST' });
}

function sync() {
  // nothing listens there: the fetch itself fails, and nobody handles its rejection
  fetch('http://127.0.0.1:9/sync');
}

function openCart() {
  // a single-page navigation: browserTracingIntegration starts a navigation span
  history.pushState({}, '', '/cart');
  document.querySelector('h1').textContent = 'Cart';
}

document.querySelector('#message').addEventListener('click', greet);
document.querySelector('#pay').addEventListener('click', pay);
document.querySelector('#sync').addEventListener('click', sync);
document.querySelector('#cart').addEventListener('click', openCart);
document.querySelector('#add').addEventListener('click', addToCart);
document.querySelector('#recommend').addEventListener('click', () => {
  loadRecommendations();
});
document.querySelector('#checkout').addEventListener('click', checkout);

// A banner shown a moment after the page painted pushes it down: a layout shift for CLS.
setTimeout(() => {
  const banner = document.createElement('div');
  banner.textContent = 'Free shipping this week';
  banner.style.height = '120px';
  document.body.prepend(banner);
}, 100);
