// The console's entry point: styles, then the app in #app.
import "./console.css";
import { render } from "preact";
import { html } from "./html.js";
import { App } from "./app.js";

render(html`<${App} />`, document.getElementById("app"));
