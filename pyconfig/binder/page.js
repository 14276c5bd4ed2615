// Persistent BinderHub on BinderHub's pages (BinderHub.extra_footer_scripts,
// set by configure.py). BinderHub's bundled page is left as it is; this adds
// what it lacks for this service:
//
// - who is logged in, beside the links back to the hub;
// - names for what a screen reader cannot name (the logo, the copy button,
//   the progress bar, the preview frame) or names wrongly (the provider
//   menu), so the pages pass WCAG 2.1 AA;
// - a failed launch told once, in plain text that wraps at any width, with
//   its links clickable, announced to screen readers (role="alert"). The
//   build log, an 80-column terminal that breaks words anywhere, folds away
//   (its "show" button opens it), and the nbviewer preview, which promises
//   that the notebook "will open automatically", goes away.
//
// The failure is read from the build's own event stream: the page's fetch
// of /build/... is teed, one copy to the page as before, one read here.
(() => {
  "use strict";

  const NAMES = [
    ['#root img[src*="logo"]:not([alt])', "alt", "Binder"],
    ["#btn-copy-url:not([aria-label])", "aria-label", "Copy the launch link"],
    ['[role="progressbar"]:not([aria-label])', "aria-label", "Launch progress"],
    [
      '[data-testid="nbviewer-iframe"]:not([title])',
      "title",
      "Preview of the repository on nbviewer",
    ],
  ];
  // Controls whose name must hold their visible text (WCAG 2.5.3, label in
  // name), with what they are: the provider menu's name says only "Select
  // repository type" while it shows "GitHub".
  const NAMED_WITH_TEXT = [
    ['button[aria-controls="repository-type-dropdown"]', "repository type"],
  ];
  const FAILURE_ID = "pbh-failure";
  // The unread tail of the event stream that may be kept: an event longer
  // than this is not BinderHub's and is skipped.
  const MAX_PENDING = 1 << 20;

  // "Logged in as NAME" at the head of the hub's links in the banner
  // (configure.py), the name from page.html.
  function nameTheUser() {
    const name = document
      .querySelector('meta[name="persistent-binderhub-user"]')
      ?.getAttribute("content");
    const links = document.querySelector("nav.pbh-hub-links");
    if (!name || !links || links.querySelector(".pbh-user")) return;
    const user = document.createElement("span");
    user.className = "pbh-user";
    user.textContent = `Logged in as ${name}`;
    links.prepend(user, " \u00b7 ");
  }

  function nameTheUnnamed() {
    nameTheUser();
    for (const [selector, attribute, value] of NAMES) {
      for (const element of document.querySelectorAll(selector)) {
        element.setAttribute(attribute, value);
      }
    }
    for (const [selector, what] of NAMED_WITH_TEXT) {
      for (const element of document.querySelectorAll(selector)) {
        const name = `${element.textContent.trim()}: ${what}`;
        if (element.getAttribute("aria-label") !== name) {
          element.setAttribute("aria-label", name);
        }
      }
    }
  }

  // The text with each http(s) URL made a link, built as DOM nodes (never
  // as HTML): the message names the user's repository and must stay text.
  function linked(text) {
    const fragment = document.createDocumentFragment();
    const url = /https?:\/\/[^\s<>"']*[^\s<>"'.,;:!?)]/g;
    let last = 0;
    for (const found of text.matchAll(url)) {
      fragment.append(text.slice(last, found.index));
      const link = document.createElement("a");
      link.href = found[0];
      link.textContent = found[0];
      fragment.append(link);
      last = found.index + found[0].length;
    }
    fragment.append(text.slice(last));
    return fragment;
  }

  function clearFailure() {
    document.getElementById(FAILURE_ID)?.remove();
  }

  function showFailure(message) {
    clearFailure();
    const box = document.createElement("div");
    box.id = FAILURE_ID;
    box.className = "pbh-failure";
    box.setAttribute("role", "alert");
    const heading = document.createElement("p");
    heading.className = "pbh-failure-heading";
    heading.textContent = "Your notebook could not start";
    const body = document.createElement("p");
    body.className = "pbh-failure-message";
    body.append(linked(message.replace(/^Spawn failed: /, "").trim()));
    box.append(heading, body);
    const progress = document.querySelector('[role="progressbar"]');
    const launcher = progress?.parentElement;
    if (launcher?.parentElement) {
      launcher.parentElement.insertBefore(box, launcher);
    } else {
      document.body.prepend(box);
    }
    // The page opens its log and keeps the preview that says the notebook
    // will open: once React has drawn the failure, fold the one and take
    // the other away (looked for every 50 ms, for 5 s at most).
    let tries = 100;
    const tidy = setInterval(() => {
      const toggle = document.getElementById("btn-show-log");
      const opened = toggle?.textContent.trim() === "hide";
      if (opened) toggle.click();
      const preview = document.querySelector('[data-testid="nbviewer-iframe"]');
      preview?.parentElement?.classList.add("d-none");
      if (opened || --tries === 0) clearInterval(tidy);
    }, 50);
  }

  // One server-sent event's data, or null when it is not JSON.
  function eventData(block) {
    const data = block
      .split("\n")
      .filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(5).replace(/^ /, ""))
      .join("\n");
    if (!data) return null;
    try {
      return JSON.parse(data);
    } catch {
      return null;
    }
  }

  async function watch(stream) {
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    let pending = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      pending += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let end;
      while ((end = pending.indexOf("\n\n")) !== -1) {
        const data = eventData(pending.slice(0, end));
        pending = pending.slice(end + 2);
        if (data && String(data.phase).toLowerCase() === "failed") {
          showFailure(String(data.message ?? ""));
          reader.cancel();
          return;
        }
      }
      if (pending.length > MAX_PENDING) pending = "";
    }
  }

  const pageFetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const response = await pageFetch(input, init);
    const address = new URL(
      typeof input === "string" || input instanceof URL ? input : input.url,
      window.location.href,
    );
    if (!/\/build\//.test(address.pathname) || !response.body) return response;
    clearFailure();
    const [page, ours] = response.body.tee();
    watch(ours).catch(() => {});
    return new Response(page, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };

  nameTheUnnamed();
  new MutationObserver(nameTheUnnamed).observe(document.body, {
    childList: true,
    characterData: true,
    subtree: true,
  });
})();
