// The preference center's page: reads the link token from the address, talks to the JSON API with
// it as a bearer token, and renders with DOM calls only (no innerHTML), so no value from the profile
// is ever parsed as markup.

const token = new URLSearchParams(window.location.search).get("t") ?? ""
const $ = (id) => document.getElementById(id)

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k === "class") node.className = v
    else if (k === "text") node.textContent = v
    else node.setAttribute(k, v === true ? "" : String(v))
  }
  for (const c of children) if (c !== undefined && c !== null) node.append(c)
  return node
}

const date = (iso) =>
  new Date(iso).toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" })

const STATUS_TEXT = {
  granted: "On",
  denied: "Off",
  withdrawn: "Off (you withdrew it)",
  expired: "Off (your consent expired)",
  pending: "Off until you confirm it in the e-mail we sent"
}

const PROPAGATION_TEXT = { applied: "up to date", pending: "sending…", failed: "not delivered" }

const status = (text) => {
  $("status").textContent = text
}

// ---------------------------------------------------------------------------------------------
// API

class HttpError extends Error {
  constructor(status, body) {
    super(`HTTP ${status}`)
    this.status = status
    this.body = body
  }
}

const api = async (method, path, body) => {
  const res = await fetch(path, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" })
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    cache: "no-store"
  })
  const isJson = (res.headers.get("Content-Type") ?? "").startsWith("application/json")
  const data = isJson ? await res.json() : undefined
  if (!res.ok) throw new HttpError(res.status, data)
  return { res, data }
}

// ---------------------------------------------------------------------------------------------
// Rendering

const switchId = (key) => `sw-${key.replace(/[^a-z0-9]+/gi, "-")}`

const stateText = (c) => {
  if (c.status === null) return "Off. You have not made a choice yet."
  const from = c.source === "preference-center" ? "here" : `in ${c.sourceLabel}`
  const version = c.policyVersion === undefined ? "" : `, notice version ${c.policyVersion}`
  return `${STATUS_TEXT[c.status] ?? c.status}. Set ${from} on ${date(c.capturedAt)}${version}.`
}

const badges = (c) => {
  if (c.heldBy.length === 0) return [el("li", { class: "badge local", text: "Kept in your profile only" })]
  if (c.targets.length === 0)
    return c.heldBy.map((t) => el("li", { class: "badge local", text: `${t.label}: nothing to send yet` }))
  return c.targets.map((t) =>
    el(
      "li",
      { class: `badge ${t.state}` },
      `${t.label}: ${PROPAGATION_TEXT[t.state]}`,
      t.detail === undefined ? undefined : el("span", { class: "detail", text: ` (${t.detail})` })
    )
  )
}

const buildPurposes = (view) => {
  const root = $("purposes")
  root.replaceChildren()
  for (const p of view.purposes) {
    const descId = `desc-${p.purpose}`
    const list = el("ul", { class: "channels" })
    for (const c of p.channels) {
      const id = switchId(c.key)
      const input = el("input", {
        type: "checkbox",
        role: "switch",
        id,
        "data-purpose": c.purpose,
        "data-channel": c.channel,
        "aria-describedby": `${id}-state ${id}-prop`
      })
      input.addEventListener("change", () => onSwitch(input, p.title, c.label))
      list.append(
        el(
          "li",
          { class: "channel", id: `${id}-row` },
          el("div", { class: "switch" }, input, el("label", { for: id, text: c.label })),
          el("p", { class: "state", id: `${id}-state` }),
          el("ul", { class: "propagation", id: `${id}-prop`, "aria-label": `Delivery of ${c.label}` })
        )
      )
    }
    root.append(
      el(
        "fieldset",
        { class: "purpose", "aria-describedby": descId },
        el("legend", { text: p.title }),
        el("p", { class: "description", id: descId, text: p.description }),
        list
      )
    )
  }
}

const renderPurposes = (view) => {
  if ($("purposes").childElementCount === 0) buildPurposes(view)
  for (const p of view.purposes)
    for (const c of p.channels) {
      const id = switchId(c.key)
      const input = $(id)
      if (input === null) continue
      // A switch the person is changing right now keeps what they set until the server answers.
      if (input.getAttribute("aria-busy") !== "true") input.checked = c.granted
      $(`${id}-state`).textContent = stateText(c)
      $(`${id}-prop`).replaceChildren(...badges(c))
    }
}

const CONNECTED_TEXT = {
  applied: "Up to date",
  pending: "Sending your latest choices…",
  failed: "Not delivered yet",
  "not-connected": "Not connected"
}

const renderConnected = (view) => {
  $("connected").replaceChildren(
    ...view.connected.map((t) =>
      el(
        "li",
        { class: `system ${t.state}` },
        el("span", { class: "system-name", text: t.label }),
        el("span", { class: `badge ${t.state}`, text: CONNECTED_TEXT[t.state] ?? t.state }),
        el(
          "span",
          { class: "system-detail" },
          [
            t.externalId === undefined ? undefined : `Your record there: ${t.externalId}`,
            t.detail === undefined ? undefined : t.detail
          ]
            .filter((x) => x !== undefined)
            .join(". ")
        )
      )
    )
  )
}

const provenance = (source, record, updatedAt) =>
  `From ${source}, record ${record}${updatedAt === undefined ? "" : `, updated ${date(updatedAt)}`}`

const renderHeld = (view) => {
  $("attributes").replaceChildren(
    ...view.attributes.map((a) =>
      el(
        "div",
        { class: "fact" },
        el("dt", { text: a.label }),
        el(
          "dd",
          {},
          el("span", { class: "value", text: a.value }),
          el("span", {
            class: "prov",
            text: a.rectified ? "Corrected by you" : provenance(a.sourceLabel, a.record, a.updatedAt)
          })
        )
      )
    )
  )
  const ids = []
  for (const t of view.identifiers)
    for (const v of t.values)
      ids.push(
        el(
          "div",
          { class: "fact" },
          el("dt", { text: t.label }),
          el(
            "dd",
            {},
            el("span", { class: "value", text: v.value }),
            el("span", {
              class: "prov",
              text: `From ${v.records.map((r) => `${r.sourceLabel} (${r.id})`).join(", ")}`
            })
          )
        )
      )
  $("identifiers").replaceChildren(...ids)
  $("records").replaceChildren(
    ...view.systems.map((s) =>
      el(
        "li",
        {},
        el("span", { class: "system-name", text: s.label }),
        ` ${s.records.length === 1 ? "record" : "records"} ${s.records.join(", ")}`
      )
    )
  )
  $("history").replaceChildren(
    ...view.history.map((h) =>
      el(
        "li",
        {},
        el("time", { datetime: h.at, text: date(h.at) }),
        ` ${h.label}: ${h.status}, from ${h.sourceLabel}${h.policyVersion === undefined ? "" : ` (notice ${h.policyVersion})`}`
      )
    )
  )
}

const render = (view) => {
  $("intro").textContent =
    view.firstName === undefined
      ? "Choose how we may contact you and use your data. You can change your mind at any time."
      : `Hello ${view.firstName}. Choose how we may contact you and use your data. You can change your mind at any time.`
  $("policy-version").textContent = view.policyVersion
  renderPurposes(view)
  renderConnected(view)
  renderHeld(view)
  for (const id of ["choices", "systems", "held", "data"]) $(id).hidden = false
}

const renderErased = (erasure) => {
  for (const id of ["choices", "systems", "held", "data"]) $(id).hidden = true
  $("title").textContent = "Your privacy preferences"
  $("intro").textContent = "There is no profile for this link any more."
  $("erased-when").textContent = `Erased on ${date(erasure.erasedAt)}.`
  const ERASE_TEXT = {
    applied: "Deleted",
    pending: "Deleting…",
    failed: "Not deleted yet",
    "nothing-held": "Held nothing about you"
  }
  $("erased-targets").replaceChildren(
    ...erasure.targets.map((t) =>
      el(
        "li",
        { class: `system ${t.state}` },
        el("span", { class: "system-name", text: t.label }),
        el("span", {
          class: `badge ${t.state === "nothing-held" ? "local" : t.state}`,
          text: ERASE_TEXT[t.state]
        }),
        el("span", { class: "system-detail", text: t.detail ?? "" })
      )
    )
  )
  $("erased-sources").replaceChildren(
    ...erasure.sources.map((s) =>
      el(
        "li",
        {},
        el("span", { class: "system-name", text: s.label }),
        ` ${s.records} ${s.records === 1 ? "record" : "records"}`
      )
    )
  )
  $("erased").hidden = false
}

const renderInvalid = () => {
  for (const id of ["choices", "systems", "held", "data", "erased"]) $(id).hidden = true
  $("title").textContent = "This link is not valid"
  $("intro").textContent =
    "It may have expired. Links to your privacy preferences work for a limited time. Ask us for a new one in the app or by replying to our last e-mail."
}

// ---------------------------------------------------------------------------------------------
// Loading and polling

let pollTimer
let polls = 0
let announceWhenDone = false

const onError = (e) => {
  if (e instanceof HttpError && (e.status === 401 || e.status === 403)) return renderInvalid()
  if (e instanceof HttpError && e.status === 410 && e.body?.erasure !== undefined)
    return renderErased(e.body.erasure)
  status("Something went wrong. Please try again in a moment.")
}

const show = (view) => {
  render(view)
  clearTimeout(pollTimer)
  if (view.pending && polls < 60) {
    polls++
    pollTimer = setTimeout(refresh, 700)
  } else {
    polls = 0
    if (announceWhenDone && !view.pending) {
      announceWhenDone = false
      const failed = view.connected.filter((t) => t.state === "failed").map((t) => t.label)
      status(
        failed.length === 0
          ? "Saved. Every connected system has your latest choices."
          : `Saved. Not delivered yet to ${failed.join(" and ")}; we keep trying.`
      )
    }
  }
}

const refresh = () =>
  api("GET", "/api/profile")
    .then(({ data }) => show(data))
    .catch(onError)

// Switches are sent one after another, in the order the person flipped them.
let queue = Promise.resolve()

const onSwitch = (input, purposeTitle, channelLabel) => {
  const granted = input.checked
  input.setAttribute("aria-busy", "true")
  status(`Saving: ${purposeTitle}, ${channelLabel} ${granted ? "on" : "off"}…`)
  queue = queue.then(() =>
    api("POST", "/api/consent", {
      purpose: input.dataset.purpose,
      channel: input.dataset.channel,
      granted
    })
      .then(({ data }) => {
        input.removeAttribute("aria-busy")
        announceWhenDone = true
        status(
          `Saved: ${purposeTitle}, ${channelLabel} ${granted ? "on" : "off"}. Sending it to the connected systems…`
        )
        polls = 0
        show(data)
      })
      .catch((e) => {
        input.removeAttribute("aria-busy")
        input.checked = !granted
        onError(e)
      })
  )
}

const download = async () => {
  try {
    const res = await fetch("/api/export", {
      headers: { Authorization: `Bearer ${token}` },
      cache: "no-store"
    })
    if (!res.ok) throw new HttpError(res.status, undefined)
    const blob = await res.blob()
    const name =
      /filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") ?? "")?.[1] ?? "my-data.json"
    const url = URL.createObjectURL(blob)
    const a = el("a", { href: url, download: name, hidden: true })
    document.body.append(a)
    a.click()
    a.remove()
    setTimeout(() => URL.revokeObjectURL(url), 10_000)
    status("Your data has been downloaded.")
  } catch (e) {
    onError(e)
  }
}

const dialog = $("confirm-erase")

const erase = async () => {
  const ok = $("confirm-ok")
  ok.disabled = true
  status("Erasing your data…")
  try {
    const { data } = await api("POST", "/api/erase", { confirm: true })
    dialog.close()
    renderErased(data.erasure)
    status("Your data has been erased.")
    $("erased-h").focus()
  } catch (e) {
    dialog.close()
    onError(e)
  } finally {
    ok.disabled = false
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("download").addEventListener("click", download)
  $("erase").addEventListener("click", () => dialog.showModal())
  $("confirm-cancel").addEventListener("click", () => dialog.close())
  dialog.addEventListener("close", () => {
    if ($("erased").hidden) $("erase").focus()
  })
  $("confirm-ok").addEventListener("click", erase)
  refresh()
})
