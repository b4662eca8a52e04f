// Embedded in the Shopify admin, a plain form post carries no Authorization header and third-
// party cookies are unreliable: forms marked data-bearer are sent with fetch and a fresh ID
// token from App Bridge, and the page's <main> is replaced with the answer. Standalone pages
// have no such forms and work with JavaScript off.
"use strict";
// Lets a test (and CSS) tell whether scripts ran.
document.documentElement.dataset.js = "on";
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-bearer")) return;
  event.preventDefault();
  const button = form.querySelector("button[type=submit]");
  if (button) button.disabled = true;
  try {
    const token = await window.shopify.idToken();
    // The button pressed may post elsewhere (Preview's formaction).
    const action = event.submitter?.getAttribute("formaction") ?? form.action;
    const res = await fetch(action, {
      method: "POST",
      headers: { Authorization: "Bearer " + token },
      body: new URLSearchParams(new FormData(form)),
    });
    const doc = new DOMParser().parseFromString(await res.text(), "text/html");
    const fresh = doc.querySelector("main");
    if (fresh) document.querySelector("main").replaceWith(fresh);
    poll();
  } finally {
    if (button) button.disabled = false;
  }
});
// Embedded, links marked data-bearer (between a shop's pages) are followed the same way: a
// plain navigation would carry no ID token.
document.addEventListener("click", async (event) => {
  const link = event.target instanceof Element ? event.target.closest("a[data-bearer]") : null;
  if (!link) return;
  event.preventDefault();
  const token = await window.shopify.idToken();
  const res = await fetch(link.href, { headers: { Authorization: "Bearer " + token } });
  const doc = new DOMParser().parseFromString(await res.text(), "text/html");
  const fresh = doc.querySelector("main");
  if (fresh) document.querySelector("main").replaceWith(fresh);
  poll();
});
// A running profile send (Data Sync): reload the page's <main> every second until it ends,
// with an ID token when embedded (a reload of the page would carry none).
let polling = false;
async function poll() {
  const el = document.querySelector("[data-poll]");
  if (!el || polling) return;
  polling = true;
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const headers = {};
    if (document.querySelector("meta[name=shopify-api-key]")) {
      headers.Authorization = "Bearer " + (await window.shopify.idToken());
    }
    const res = await fetch(el.dataset.poll, { headers });
    const doc = new DOMParser().parseFromString(await res.text(), "text/html");
    const fresh = doc.querySelector("main");
    if (fresh) document.querySelector("main").replaceWith(fresh);
  } finally {
    polling = false;
    poll();
  }
}
poll();
