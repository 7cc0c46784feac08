package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// SettingError is a bad value of one setting, an environment variable or
// a command-line flag: it names the setting and the value, says what is
// wrong and what to do. Its text never shows a password: the value is
// masked, and so is any echo of the password in the cause.
type SettingError struct {
	Setting string // CATSYNC_WORKFLOWS, or a flag such as --catalogfiles
	Problem string // what is wrong and what to do
	Err     error  // the cause, when it tells more than Problem
	value   string // as set: shown masked, and not at all when empty
}

// Bad is the error of a setting whose value is wrong as problem says.
// Give value "" for a secret: the text then shows no value at all.
func Bad(setting, value, problem string) *SettingError {
	return &SettingError{Setting: setting, Problem: problem, value: value}
}

// Wrap is err, met using a setting's value, named as the setting's fault.
func Wrap(setting, value string, err error, problem string) *SettingError {
	return &SettingError{Setting: setting, Problem: problem, Err: err, value: value}
}

func (e *SettingError) Error() string {
	var b strings.Builder
	b.WriteString(e.Setting)
	if e.value != "" {
		// Flags read as typed (--type "weekly"), variables as set.
		if strings.HasPrefix(e.Setting, "-") {
			b.WriteString(" ")
		} else {
			b.WriteString("=")
		}
		fmt.Fprintf(&b, "%q", Mask(e.value))
	}
	for _, part := range []string{errText(e.Err), e.Problem} {
		if part != "" {
			b.WriteString(": " + part)
		}
	}
	text := b.String()
	p := password(e.value)
	if p == "" {
		return text
	}
	// A cause may quote the value as it was, or its password where a URL
	// holds it, or alone: four characters or more, anywhere; a shorter
	// one where it stands as a word of its own, since it could be part of
	// any word.
	if e.value != Mask(e.value) {
		text = strings.ReplaceAll(text, e.value, Mask(e.value))
	}
	for _, at := range []string{":%s@", "password=%s"} {
		text = strings.ReplaceAll(text, fmt.Sprintf(at, p), fmt.Sprintf(at, "xxxxx"))
	}
	if len(p) >= 4 {
		return strings.ReplaceAll(text, p, "xxxxx")
	}
	word := regexp.MustCompile(`(^|[^A-Za-z0-9])` + regexp.QuoteMeta(p) + `($|[^A-Za-z0-9])`)
	for prev := ""; prev != text; {
		prev, text = text, word.ReplaceAllString(text, "${1}xxxxx${2}")
	}
	return text
}

func (e *SettingError) Unwrap() error { return e.Err }

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// userinfo is the user:password@ of a URL; the password may hold anything
// when the URL is malformed, except the @ and the / ending the authority.
var (
	userinfo    = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*://[^:/@?#]*):([^/?#]*)@`)
	queryPasswd = regexp.MustCompile(`(?i)([?&](?:ssl)?password=)([^&#]*)`)
)

// Mask hides the passwords of a URL, in its user information and in its
// query (PostgreSQL takes ?password=); other values are returned as given.
func Mask(value string) string {
	value = userinfo.ReplaceAllString(value, "${1}:xxxxx@")
	return queryPasswd.ReplaceAllString(value, "${1}xxxxx")
}

// password is the first password in value, or "".
func password(value string) string {
	if m := userinfo.FindStringSubmatch(value); m != nil && m[2] != "" {
		return m[2]
	}
	if m := queryPasswd.FindStringSubmatch(value); m != nil {
		return m[2]
	}
	return ""
}

// ParseBool reads the value of a boolean setting or flag. The one reading
// of booleans: BackPak's macros say yes and no, environments true and
// false, and either is understood wherever a boolean is taken.
func ParseBool(setting, value string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "yes", "y", "true", "t", "1":
		return true, nil
	case "no", "n", "false", "f", "0":
		return false, nil
	}
	return false, Bad(setting, value, "want yes or no (or true/false, 1/0)")
}

// PathError is err, met opening the file at path that a setting names.
// A missing folder is said so: the libraries' own words for it mislead
// (SQLite says "unable to open database file").
func PathError(setting, value, path string, err error) *SettingError {
	dir := filepath.Dir(path)
	if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
		return Bad(setting, value, fmt.Sprintf("folder %s does not exist: create it, or correct %s", dir, setting))
	}
	if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
		return Bad(setting, value, fmt.Sprintf("%s is a folder: correct %s to name a file", path, setting))
	}
	return Wrap(setting, value, err, "correct "+setting+", or the file's permissions")
}
