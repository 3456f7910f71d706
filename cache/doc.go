// Package cache holds what makes completions instant: finished spans the user
// can type through, partial drafts a new request can warm-start from, each
// document's engine session (its context KV cache), a scheduler for
// speculative requests, and the counters that show whether any of it works.
//
// The package imports nothing of ours. What it stores for the decoder and the
// engine (drafts, sessions) is generic, so package completion instantiates it
// with infill's *Draft and engine.Session.
//
// # How completion uses it
//
// One *Caches per language server, built with New(cfg) (DefaultConfig, with
// Config.Fingerprint naming the model and settings) and shared by all
// documents; every method is safe for concurrent use. A completion request
// for document doc with text prefix (everything before the cursor) and
// suffix (everything after it) goes:
//
//	if rest, ok := c.Spans.Lookup(doc, prefix, suffix); ok {
//		return rest // typed through a shown or cached completion: no engine call
//	}
//	// Only a miss needs the engine: it cancels background work, or waits for
//	// a speculation of this very context and then finds it in Spans.
//	end := c.Speculator.Begin(ctx, cache.SpecKey(doc, prefix, suffix))
//	defer end()
//	if rest, ok := c.Spans.Lookup(doc, prefix, suffix); ok {
//		return rest
//	}
//	sess, ok, err := c.Sessions.Acquire(ctx, doc) // waits while a cancelled request still holds it
//	if err != nil { return err }
//	if !ok {
//		if sess, err = backend.NewSession(opts); err != nil { c.Sessions.Abandon(doc); return err }
//	}
//	defer c.Sessions.Release(doc, sess) // measures sess.Bytes(), evicts idle sessions over the cap
//	draft, typed, _ := c.Drafts.Get(doc, prefix, suffix) // warm start; completion decides if typed fits the draft
//	res, err := decoder.Infill(ctx, infill.Request{..., Session: sess, Draft: draft})
//	if res.Draft != nil && (err != nil || res.Stop == "budget") {
//		c.Drafts.Put(doc, prefix, suffix, res.Draft) // cancelled or out of time: keep the partial span
//	}
//	c.NoteForwards(res.Stats.Forwards, res.Stats.WarmSaved)
//	if err == nil && text != "" {
//		c.Spans.Put(doc, prefix, suffix, text, res.Stats.Forwards) // the text shown, after post-processing (a budget-stopped one too)
//	}
//
// After the user accepts a suggestion (or right after showing one, as
// llama.vim does), completion schedules the next request as if it had been
// accepted:
//
//	c.Speculator.Schedule(cache.SpecKey(doc, prefix+text, suffix), func(ctx context.Context) {
//		... the same pipeline for prefix+text; its Spans.Put lands in the cache ...
//	})
//
// and forgets a document when it is closed: c.Forget(doc).
//
// # Spans (typing through)
//
// A Spans maps a context to the finished completion computed for it. The
// context is the model/settings fingerprint (Config.Fingerprint, or
// SetFingerprint when the configuration changes), the last PrefixWindow bytes
// of the prefix and the first SuffixWindow bytes of the suffix, with "\r\n"
// read as "\n". Lookup answers the remainder of a completion when the
// characters typed since it was computed are its start: the user typed
// "fmt.Pr" into a shown "fmt.Println(x)" and gets "intln(x)". Accepting a
// word or a line is the same case (the accepted text is what was typed).
//
// Each document pins its last two Put completions (the one shown and the
// speculative one computed after it) in slots that nothing evicts; ristretto
// admission may drop anything else, so a pinned suggestion is always served
// while the user types through it. Older completions live in a ristretto
// cache costed in bytes; typing through one of those is found by scanning
// back over up to ScanBack typed characters (llama.vim), by forwarding
// entries written at Put for the first Forward characters (Tabby), or both;
// the defaults are the ones the replay benchmark (package completion/replay
// and the README) chose. Lookup never returns an empty remainder.
//
// # Drafts (warm starts)
//
// A Drafts[V] keeps partial spans, V being infill's *Draft (anything with
// Bytes()). A decode that was cancelled or ran out of its time budget Puts its
// draft; the next request in the same document whose context is the same or
// extends it by up to DraftScanBack typed characters Gets it back, with the
// characters typed since, and warm-starts from it. Drafts are few and large,
// so they sit in a plain byte-capped LRU (Config.DraftBytes) rather than in
// ristretto, whose admission would drop exactly the fresh draft needed next.
//
// # Sessions (context KV reuse)
//
// A Sessions[S] pools one engine session per document, S being
// engine.Session plus Bytes() (the model's sessions report their KV bytes;
// completion wraps a session that doesn't in a type whose Bytes estimates
// them from len(Tokens()) and the checkpoint's layer sizes).
// Acquire checks a document's session out (waiting while another request
// holds it, which after a cancel is a few milliseconds) and Release checks it
// back in. The pool holds at most Config.SessionBytes (default 512 MB),
// counted by each session's Bytes() at its last Release, checked-out
// sessions included; over the cap it closes idle sessions, least recently
// released first. A checked-out session is never closed (Forget of a busy
// session closes it at its Release), so only checked-out sessions can take
// the pool over its cap.
//
// Why least recently used and not bytes×age: rebuilding a session costs a
// prefill of its context, and both that time and its Bytes() grow with its
// tokens, so the value per byte is about the same for every session; a
// size-aware policy (GreedyDual-Size with cost ∝ size) then reduces to LRU,
// and LRU keeps the documents the user is switching between.
//
// # Speculator
//
// A Speculator runs at most one background request at a time, only while no
// foreground request is running, and cancels it as soon as one begins
// (Begin). A foreground request whose key equals the running speculation's
// waits for it instead of cancelling it, then finds its result in Spans.
// Call Begin after a Spans miss, not before Lookup: typing through the shown
// suggestion must not cancel the speculation computed for its end.
//
// # Stats
//
// Caches.Stats returns a snapshot: hits and misses per cache, bytes held,
// engine forward passes run and saved (a span hit saves the forwards its
// completion cost; a warm start saves what infill reports as WarmSaved),
// speculations started, finished, cancelled and used. The lsp package shows
// it in unmask/status and the log.
package cache
