//go:build js && wasm

package browser

import (
	"strconv"
	"time"

	"github.com/hack-pad/safejs"
)

// ui shows the warning before an idle logout and the notice that the seat
// is about to lapse. It builds its own elements, styled by sesame.css.
// Without a document (under Node) it shows nothing.
type ui struct {
	doc    safejs.Value
	sesame safejs.Value // window.Sesame, for its French durations
	stay   func()       // the user chose to stay (the button, Escape)

	// busy is set while the ui moves the focus itself, so that the focus
	// events it causes are not taken for the user's activity.
	busy bool

	dialog, count, button, notice safejs.Value
	fn                            safejs.Func // click on the button, cancel (Escape)
	built                         bool
	shown, offline                bool
	left                          int // seconds shown in the countdown
	before                        safejs.Value
}

func (u *ui) ok() bool { return u.doc.Type() == safejs.TypeObject }

func (u *ui) el(tag string, attrs ...string) safejs.Value {
	e := call(u.doc, "createElement", tag)
	for i := 0; i+1 < len(attrs); i += 2 {
		call(e, "setAttribute", attrs[i], attrs[i+1])
	}
	return e
}

// build makes the dialog and the notice (a live region, present from the
// start so that screen readers announce what comes into it).
func (u *ui) build() error {
	if u.built || !u.ok() {
		return nil
	}
	fn, err := newFunc(func(_ safejs.Value, args []safejs.Value) any {
		ev := arg(args, 0)
		if str(get(ev, "type")) == "cancel" {
			call(ev, "preventDefault")
		}
		u.stay()
		return nil
	})
	if err != nil {
		return err
	}
	u.fn, u.built = fn, true
	u.dialog = u.el("dialog", "id", "sesame-inactivite", "class", "idle-dialog", "role", "alertdialog", "aria-modal", "true",
		"aria-labelledby", "sesame-inactivite-titre", "aria-describedby", "sesame-inactivite-texte")
	title := u.el("h2", "id", "sesame-inactivite-titre")
	set(title, "textContent", "Êtes-vous toujours là\u00a0?")
	text := u.el("p", "id", "sesame-inactivite-texte")
	u.count = u.el("strong", "class", "idle-countdown")
	call(text, "append", "Sans activité de votre part, vous serez déconnecté dans ", u.count,
		". Votre place de connexion sera alors libérée.")
	u.button = u.el("button", "type", "button", "class", "button", "data-action", "rester")
	set(u.button, "textContent", "Rester connecté")
	call(u.dialog, "append", title, text, u.button)
	call(u.button, "addEventListener", "click", fn)
	call(u.dialog, "addEventListener", "cancel", fn)
	u.notice = u.el("div", "id", "sesame-reseau", "class", "agent-notice", "role", "status", "aria-live", "polite")
	call(get(u.doc, "body"), "append", u.dialog, u.notice)
	return nil
}

// warn shows the warning with the time left, or hides it.
func (u *ui) warn(show bool, remaining time.Duration) {
	if !u.built {
		return
	}
	if show {
		left := int((remaining + time.Second - 1) / time.Second)
		if !u.shown || left != u.left {
			u.left = left
			set(u.count, "textContent", u.duration(left))
		}
		if !u.shown {
			u.shown = true
			u.before = get(u.doc, "activeElement")
			u.busy = true
			if isFunc(get(u.dialog, "showModal")) {
				call(u.dialog, "showModal")
			} else {
				call(u.dialog, "setAttribute", "open", "")
			}
			call(u.button, "focus")
			u.busy = false
		}
		return
	}
	if u.shown {
		u.shown = false
		u.busy = true
		call(u.dialog, "close")
		call(u.dialog, "removeAttribute", "open")
		if truthy(get(u.before, "isConnected")) {
			call(u.before, "focus")
		}
		u.before = safejs.Undefined()
		u.busy = false
	}
}

// duration is a number of seconds in French, as the pages write it.
func (u *ui) duration(s int) string {
	if s <= 0 {
		return "un instant"
	}
	if d := call(u.sesame, "duration", s); d.Type() == safejs.TypeString {
		return str(d)
	}
	return strconv.Itoa(s) + " s"
}

// setOffline tells the user, or no longer, that the server does not answer
// and the seat is about to lapse.
func (u *ui) setOffline(on bool) {
	if !u.built || on == u.offline {
		return
	}
	u.offline = on
	text := ""
	if on {
		text = "Le serveur Sésame ne répond plus\u00a0: nouvelle tentative en cours. " +
			"Si la connexion ne revient pas, votre place de connexion sera libérée et il faudra vous reconnecter."
	}
	set(u.notice, "textContent", text)
}

// inside reports whether ev, a keyboard or pointer press, is aimed at the
// shown dialog's content: its button decides then, so that a key pressed
// on it never lands on the page once the dialog closes.
func (u *ui) inside(ev safejs.Value) bool {
	if !u.shown {
		return false
	}
	switch str(get(ev, "type")) {
	case "keydown", "pointerdown", "touchstart":
	default:
		return false
	}
	t := get(ev, "target")
	return !t.Equal(u.dialog) && truthy(call(u.dialog, "contains", t))
}

// remove takes the elements out of the page and releases the callback.
func (u *ui) remove() {
	if !u.built {
		return
	}
	u.warn(false, 0)
	call(u.button, "removeEventListener", "click", u.fn)
	call(u.dialog, "removeEventListener", "cancel", u.fn)
	call(u.dialog, "remove")
	call(u.notice, "remove")
	release(u.fn)
	u.built = false
}
