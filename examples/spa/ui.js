// DOM helpers: elements from data (text only, never HTML strings), labelled forms, messages.

import { ApiError } from "./auth.js";

/** h("button", {type: "submit", onclick}, "Save"): attributes, on* listeners, text or node children. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value == null) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name in element && typeof value !== "string") element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.flat().filter((child) => child != null && child !== false));
  return element;
}

let ids = 0;

/** A form of labelled fields. `fields`: [{name, label, type?, autocomplete?, required?, options?, hint?}].
 * `onSubmit(values)` may throw an ApiError: its field errors show under their fields, the rest on top. */
export function form({ fields, submit, onSubmit, name }) {
  const alert = h("p", { class: "error", role: "alert", hidden: true });
  const inputs = {};
  const rows = fields.map((field) => {
    const id = `f${++ids}-${field.name}`;
    const error = h("span", { class: "field-error", id: `${id}-error` });
    const hint = field.hint ? h("span", { class: "hint", id: `${id}-hint` }, field.hint) : null;
    const described = [hint && `${id}-hint`, `${id}-error`].filter(Boolean).join(" ");
    let input;
    if (field.options) {
      input = h(
        "select",
        { id, name: field.name, "aria-describedby": described },
        field.options.map(([value, text]) => h("option", { value, selected: value === field.value }, text)),
      );
    } else if (field.type === "checkboxes") {
      input = h(
        "fieldset",
        { class: "checkboxes", "aria-describedby": described },
        h("legend", {}, field.label),
        field.choices.map((choice) =>
          h(
            "label",
            {},
            h("input", { type: "checkbox", name: field.name, value: choice, checked: field.value?.includes(choice) }),
            choice,
          ),
        ),
      );
    } else {
      input = h("input", {
        id,
        name: field.name,
        type: field.type ?? "text",
        autocomplete: field.autocomplete ?? "off",
        required: field.required !== false,
        value: field.value ?? "",
        inputmode: field.inputmode,
        minlength: field.minlength,
        "aria-describedby": described,
      });
    }
    inputs[field.name] = { input, error, field };
    if (field.type === "checkboxes") return h("div", { class: "row" }, input, hint, error);
    return h("div", { class: "row" }, h("label", { for: id }, field.label), input, hint, error);
  });
  const button = h("button", { type: "submit" }, submit);
  const element = h("form", { "aria-label": name ?? submit, novalidate: false }, alert, rows, button);
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    alert.hidden = true;
    for (const { input, error } of Object.values(inputs)) {
      error.textContent = "";
      input.removeAttribute("aria-invalid");
    }
    const values = {};
    for (const [key, { input, field }] of Object.entries(inputs)) {
      values[key] =
        field.type === "checkboxes"
          ? [...input.querySelectorAll("input:checked")].map((box) => box.value)
          : input.value;
    }
    button.disabled = true;
    try {
      await onSubmit(values);
    } catch (error) {
      showError(error, inputs, alert);
    } finally {
      button.disabled = false;
    }
  });
  return element;
}

function showError(error, inputs, alert) {
  if (!(error instanceof ApiError)) throw error;
  let shown = false;
  for (const [key, messages] of Object.entries(error.fields)) {
    if (inputs[key]) {
      inputs[key].error.textContent = [].concat(messages).join(" ");
      inputs[key].input.setAttribute("aria-invalid", "true");
      if (!shown) inputs[key].input.focus();
      shown = true;
    }
  }
  if (!shown) {
    alert.textContent = error.message;
    alert.hidden = false;
    alert.focus?.();
  }
}

/** A button that runs `action` (disabled meanwhile) and shows its failure next to it. */
export function actionButton(text, action, attributes = {}) {
  const message = h("span", { class: "error", role: "alert" });
  const button = h("button", { type: "button", ...attributes }, text);
  button.addEventListener("click", async () => {
    message.textContent = "";
    button.disabled = true;
    try {
      await action();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      message.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });
  return h("span", { class: "action" }, button, message);
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

/** A modal dialog (native <dialog>: focus stays inside, Escape closes) that resolves with what
 * `onSubmit(values)` returned (its errors show in the dialog), or null when cancelled. */
export function ask({ title, text, fields, submit, onSubmit = async (values) => values }) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { "aria-labelledby": "dialog-title" });
    const close = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    dialog.append(
      h("h2", { id: "dialog-title" }, title),
      text ? h("p", {}, text) : null,
      form({ fields, submit, onSubmit: async (values) => close(await onSubmit(values)) }),
      h("button", { type: "button", class: "secondary", onclick: () => close(null) }, "Cancel"),
    );
    dialog.addEventListener("cancel", () => close(null));
    document.body.append(dialog);
    dialog.showModal();
  });
}
