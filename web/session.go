package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Cookies are sealed with AES-256-GCM under a key derived from
// DEPLOYBOT_SESSION_KEY: a visitor can neither read nor forge them. The
// cookie's name is bound into the seal, so one cookie cannot stand in for
// another.

const (
	sessionCookie = "deploybot_session"
	stateCookie   = "deploybot_oauth" // the state of a sign-in in progress
	stateTTL      = 10 * time.Minute  // GitHub's codes live as long
)

// session is what a signed-in browser carries.
type session struct {
	ID      string    `json:"id"`    // random; keys the access cache and the CSRF token
	Login   string    `json:"login"` // GitHub login
	Token   string    `json:"token"` // the user-to-server token
	Expires time.Time `json:"exp"`   // the token's expiry: the session ends with it
}

// signInState binds a sign-in to the browser that started it.
type signInState struct {
	State   string    `json:"state"`
	Return  string    `json:"return"`
	Expires time.Time `json:"exp"`
}

type sealer struct {
	aead    cipher.AEAD
	csrfKey []byte
}

func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("deploybot/web/" + purpose))
	return m.Sum(nil)
}

func newSealer(key []byte) (*sealer, error) {
	block, err := aes.NewCipher(derive(key, "cookies/v1"))
	if err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	return &sealer{aead: aead, csrfKey: derive(key, "csrf/v1")}, nil
}

func (s *sealer) seal(name string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("seal %s: %w", name, err)
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal %s: %w", name, err)
	}
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(name))), nil
}

var errBadCookie = errors.New("cookie is not ours")

func (s *sealer) open(name, value string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(b) < s.aead.NonceSize() {
		return errBadCookie
	}
	plain, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], []byte(name))
	if err != nil {
		return errBadCookie
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return errBadCookie
	}
	return nil
}

// csrfToken is the token a session's forms carry.
func (s *sealer) csrfToken(sessionID string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF reports whether an unsafe request carries its session's token
// (form field csrf or header X-CSRF-Token) and, when the browser names an
// origin, comes from ours.
func (s *sealer) checkCSRF(r *http.Request, sess *session, origin string) bool {
	if o := r.Header.Get("Origin"); o != "" && o != origin {
		return false
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	want := s.csrfToken(sess.ID)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func randomID() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
