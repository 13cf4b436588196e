// The state machine of one console tab: pure, no DOM, no sockets.
//
// A tab is a call ringing at this console, a room it was invited into, or an
// open chat. step(policy, state, event) returns the next state and the effects
// the console must carry out, in order. The cases are written down once, as
// test vectors, in tests/vectors/console_tabs.json: this module and the
// simulator's console model must both pass them.
//
// States: none, ringing, invited, accepting, active, closed, dismissed.
// "dismissed" is the per-call mark that keeps a late or replayed ring from
// ringing again. Policies: "confirm" (the manual's behaviour: the tab rings
// until the server confirms the accept) and "optimistic" (stops at the click).
//
// Events come from the server (ring, ring_stop, room_*), from clicks (click_*),
// from the answers to the console's own requests (accept_failed, join_failed,
// with the error code as reason) and from a snapshot: "gone" is fired at every
// tab the snapshot has no trace of (its call, invite or chat ended while the
// console was away), since a snapshot replaces what the console knew.

/** Ring stops after which the same call may ring here again (the server re-rings). */
export const TRANSIENT_STOPS = ["away", "offline", "max_chats"];

/** Ring stops that the tab explains before it goes: reason -> notice. */
export const NOTICES = {
  accepted_elsewhere: "taken",
  visitor_left: "visitor_left",
  timeout: "missed",
};

/** Refusals of an accept or a join that applied nothing (the frame was not taken): the
 * call or the invite still rings here, so the tab rings again and may be clicked again. */
export const RETRY_CODES = ["rate_limited", "server_busy"];

function stopped(reason, sounding) {
  const ring = sounding ? ["stop_ring"] : [];
  if (TRANSIENT_STOPS.includes(reason)) return { state: "none", effects: [...ring, "remove_tab"] };
  if (reason in NOTICES) {
    return {
      state: "dismissed",
      effects: [...ring, `notice:${NOTICES[reason]}`, "remove_tab_later"],
    };
  }
  return { state: "dismissed", effects: [...ring, "remove_tab"] }; // declined here
}

/**
 * @param {"confirm"|"optimistic"} policy
 * @param {string} state
 * @param {{type: string, reason?: string}} event
 * @returns {{state: string, effects: string[]}}
 */
export function step(policy, state, event) {
  const same = { state, effects: [] };
  const confirm = policy === "confirm";
  switch (event.type) {
    case "ring":
      return state === "none" ? { state: "ringing", effects: ["open_tab", "start_ring"] } : same;
    case "room_invite":
      return state === "none" ? { state: "invited", effects: ["open_tab", "start_ring"] } : same;
    case "click_accept":
      if (state === "ringing") {
        return {
          state: "accepting",
          effects: confirm ? ["send_accept"] : ["send_accept", "stop_ring"],
        };
      }
      if (state === "invited") return { state: "accepting", effects: ["send_join", "stop_ring"] };
      return same;
    case "click_x":
      if (state === "ringing") {
        return { state: "dismissed", effects: ["send_decline", "stop_ring", "remove_tab"] };
      }
      if (state === "invited") {
        return { state: "dismissed", effects: ["send_decline_join", "stop_ring", "remove_tab"] };
      }
      if (state === "active") return { state: "closed", effects: ["send_close", "remove_tab"] };
      if (state === "closed" || state === "dismissed" || state === "none") {
        return { state, effects: ["remove_tab"] }; // a tab that explains itself: gone at once
      }
      return same; // accepting: the answer is on its way
    case "ring_stop":
      if (state === "ringing") return stopped(event.reason, true);
      if (state === "accepting") {
        if (event.reason === "accepted") {
          return { state: "active", effects: confirm ? ["stop_ring"] : [] };
        }
        return stopped(event.reason, confirm);
      }
      return same;
    case "accept_failed": // the accept was answered with an error (reason: its code)
      if (state === "accepting") {
        if (RETRY_CODES.includes(event.reason)) {
          return { state: "ringing", effects: confirm ? ["notice:refused"] : ["start_ring", "notice:refused"] };
        }
        return {
          state: "dismissed",
          effects: [...(confirm ? ["stop_ring"] : []), "notice:refused", "remove_tab_later"],
        };
      }
      return same;
    case "join_failed": // the join was answered with an error (reason: its code)
      if (state === "accepting") {
        if (RETRY_CODES.includes(event.reason)) {
          return { state: "invited", effects: ["start_ring", "notice:refused"] };
        }
        return { state: "dismissed", effects: ["notice:refused", "remove_tab_later"] };
      }
      return same;
    case "gone": // a snapshot without this tab's call, invite or chat
      // "none", not "dismissed": a new session gets its rings after the snapshot, and
      // such a ring must ring here.
      if (state === "ringing") {
        return { state: "none", effects: ["stop_ring", "notice:call_gone", "remove_tab_later"] };
      }
      if (state === "invited") {
        return { state: "none", effects: ["stop_ring", "notice:invite_gone", "remove_tab_later"] };
      }
      if (state === "accepting") { // its answer is on its way: the request is sent again
        return { state, effects: [...(confirm ? ["stop_ring"] : []), "notice:checking"] };
      }
      if (state === "active") return { state: "closed", effects: ["notice:chat_gone", "end_chat"] };
      return same;
    case "room_opened":
      if (state === "none") return { state: "active", effects: ["open_tab", "open_chat"] };
      if (state === "accepting" || state === "active") {
        return { state: "active", effects: ["open_chat"] };
      }
      return same;
    case "room_invite_ended":
      if (state === "invited") {
        return { state: "dismissed", effects: ["stop_ring", "notice:ended", "remove_tab_later"] };
      }
      return same;
    case "room_closed":
      if (state === "active" || state === "accepting") {
        return { state: "closed", effects: [`notice:${event.reason}`, "end_chat"] };
      }
      return same;
    default:
      return same;
  }
}
