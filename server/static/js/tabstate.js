// The state machine of one console tab: pure, no DOM, no sockets.
//
// A tab is a call ringing at this console, a room it was invited into, or an
// open chat. step(policy, state, event) returns the next state and the effects
// the console must carry out, in order. The machine itself is data,
// /static/tabstate.json (its "about" says how to read it), which the simulator's
// virtual operator loads too (simulator/actors/console.py): this module only
// interprets it. The cases are written down once, as test vectors, in
// tests/vectors/console_tabs.json, and both interpreters must pass them.
//
// A JSON module, not a fetch at startup: the table is there before console.js
// runs, with no build step (import attributes: Chromium 123+, Firefox 138+,
// Safari 17.2+).

import TABLE from "../tabstate.json" with { type: "json" };

export { TABLE };

/** obj[key] for the table's own keys only: an event type "constructor" is no rule. */
function own(obj, key) {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function holds(when, reason) {
  return when === undefined || TABLE.reasons[when].includes(reason);
}

/** An effect with its placeholders filled in: {reason} (an event without one says
 * "undefined", as this module always did) and {notice}, the notice of that reason. */
function fill(effect, reason) {
  return effect.replace(/\{(reason|notice)\}/g, (_, name) =>
    name === "reason" ? `${reason}` : own(TABLE.notices, reason));
}

/**
 * @param {"confirm"|"optimistic"} policy
 * @param {string} state
 * @param {{type: string, reason?: string}} event
 * @returns {{state: string, effects: string[]}}
 */
export function step(policy, state, event) {
  const rules = own(own(TABLE.transitions, event.type) ?? {}, state) ?? [];
  const rule = rules.find((r) => holds(r.when, event.reason));
  if (!rule) return { state, effects: [] };
  const known = TABLE.policies.includes(policy) ? policy : TABLE.fallback_policy;
  const effects = Array.isArray(rule.effects) ? rule.effects : rule.effects[known];
  return { state: rule.next ?? state, effects: effects.map((e) => fill(e, event.reason)) };
}
