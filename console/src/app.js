// The console's shell: sign-in, the session's scope, the hash routes and the navigation.
import { useEffect, useState } from "preact/hooks";
import { html } from "./html.js";
import { ApiError, forgetToken, keepToken, scopeOf, storedToken } from "./api.js";
import { Field, Session, Title } from "./ui.js";
import { Progress, describeError, useAnnouncer } from "./writes.js";
import { SiteList, SiteScreen } from "./sites.js";
import { ConfigScreen, NewConfig } from "./configs.js";
import { AdminScreen } from "./admin.js";

function useRoute() {
  const read = () => location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => setRoute(read());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}

function SignIn({ onSignedIn }) {
  const [token, setToken] = useState("");
  const [state, setState] = useState({ busy: false, error: null });
  const submit = async (event) => {
    event.preventDefault();
    setState({ busy: true, error: null });
    try {
      const scope = await scopeOf(token.trim());
      keepToken(token.trim());
      onSignedIn(scope);
    } catch (error) {
      const message = error instanceof ApiError && error.status === 401 ? "the API does not know this token" : describeError(error);
      setState({ busy: false, error: message });
    }
  };
  return html`<main id="main" class="sign-in">
    <${Title}>Sign in to the Metadata Manager console<//>
    <p>Use an API token (<code>make run</code> prints the local admin token). It is kept in this tab only, until you sign out or close it.</p>
    <form onSubmit=${submit}>
      <${Field} label="API token" error=${state.error}>
        ${(id, describedBy) => html`<input id=${id} name="token" type="password" autocomplete="off" required
          aria-describedby=${describedBy} aria-invalid=${state.error ? "true" : undefined}
          value=${token} onInput=${(event) => setToken(event.currentTarget.value)} />`}
      <//>
      <button type="submit" disabled=${state.busy}>${state.busy ? "Signing in…" : "Sign in"}</button>
    </form>
  </main>`;
}

function Screen({ route }) {
  const [first, second, third, ...rest] = route;
  if (first === "sites" && second && third === "new") return html`<${NewConfig} site=${second} />`;
  if (first === "sites" && second) return html`<${SiteScreen} site=${second} tab=${third || "pages"} rest=${rest} />`;
  if (first === "configs" && second) return html`<${ConfigScreen} id=${second} tab=${third || "edit"} />`;
  if (first === "admin") return html`<${AdminScreen} />`;
  return html`<${SiteList} />`;
}

export function App() {
  const [scope, setScope] = useState(null);
  const [checking, setChecking] = useState(Boolean(storedToken()));
  const [flash, setFlash] = useState(null);
  useAnnouncer(setFlash);
  const route = useRoute();
  useEffect(() => {
    const token = storedToken();
    if (!token) return;
    scopeOf(token).then(
      (found) => {
        setScope(found);
        setChecking(false);
      },
      () => {
        forgetToken();
        setChecking(false);
      },
    );
  }, []);
  const signOut = () => {
    forgetToken();
    setScope(null);
    setFlash(null);
    location.hash = "#/";
  };
  if (checking) return html`<main id="main"><p role="status">Checking your token…</p></main>`;
  if (!scope) return html`<${SignIn} onSignedIn=${setScope} />`;
  return html`<${Session.Provider} value=${{ scope }}>
    <a class="skip" href="#main" onClick=${(event) => {
      event.preventDefault();
      document.getElementById("main").focus();
    }}>Skip to content</a>
    <header class="top">
      <a class="brand" href="#/">Metadata Manager</a>
      <nav aria-label="Console">
        <a href="#/">Sites</a>
        ${scope === "admin" && html`<a href="#/admin">Operations</a>`}
      </nav>
      <span class="who">Signed in with a <strong>${scope}</strong> token</span>
      <button type="button" onClick=${signOut}>Sign out</button>
    </header>
    <div class="flash"><${Progress} state=${flash} /></div>
    <main id="main" tabindex="-1" key=${route.join("/")}><${Screen} route=${route} /></main>
  <//>`;
}
