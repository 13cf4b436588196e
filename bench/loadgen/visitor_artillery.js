// The steps Artillery's ws engine cannot express. Its `send` + `capture` waits for the next
// message only, and fails ("Callback was already called") when a send draws two frames, as
// `send` does here (the message back, then its `ok`); `call` draws four before the room.
module.exports = {
  callAndWaitForRoom(context, events, done) {
    waitFor(context, (m) => m.type === "room_opened", (m) => {
      context.vars.room = m.room.room;
      done();
    });
    context.ws.send('{"type":"call","id":"c"}');
  },

  sendAndWaitForOk(context, events, done) {
    const id = `m${context.vars.$loopCount}`;
    waitFor(context, (m) => m.type === "ok" && m.ref === id, () => done());
    context.ws.send(JSON.stringify({ type: "send", id, room: context.vars.room, text: `hi ${id}` }));
  },
};

function waitFor(context, want, then) {
  const ws = context.ws;
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "ping") ws.send('{"type":"pong"}');
    if (want(message)) {
      ws.onmessage = undefined;
      then(message);
    }
  };
}
