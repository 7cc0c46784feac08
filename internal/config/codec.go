package config

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/catsync/catsync/internal/codec"
)

// Variables of the payload codec. Keys are read here, not by envconfig,
// whose errors would quote them.
const (
	CodecKeysEnv       = "CATSYNC_CODEC_KEYS"
	CodecKeysFileEnv   = "CATSYNC_CODEC_KEYS_FILE"
	CodecTokensEnv     = "CATSYNC_CODEC_TOKENS"
	CodecTokensFileEnv = "CATSYNC_CODEC_TOKENS_FILE"
)

// Codec configures payload encryption: Keys seal and open payloads (the
// first seals), Tokens are the bearer tokens the codec server accepts.
// No keys: payloads travel in clear.
type Codec struct {
	Keys   []codec.Key
	Tokens []string
}

// New is the payload codec of the keys; nil when none are configured.
func (c Codec) New() (*codec.Codec, error) {
	if len(c.Keys) == 0 {
		return nil, nil
	}
	return codec.New(c.Keys)
}

func readCodec() (Codec, error) {
	var c Codec
	keys, setting, err := listSetting(CodecKeysEnv, CodecKeysFileEnv)
	if err != nil {
		return c, err
	}
	seen := map[string]bool{}
	for i, item := range keys {
		id, b64, ok := strings.Cut(item, ":")
		id = strings.TrimSpace(id)
		k, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		// The entry's position and id name it; its key never appears.
		switch {
		case !ok || id == "":
			return c, Bad(setting, "", fmt.Sprintf("entry %d: want ID:KEY, KEY being 32 bytes in base64 (head -c 32 /dev/urandom | base64)", i+1))
		case derr != nil || len(k) != 32:
			return c, Bad(setting, "", fmt.Sprintf("key %q: want 32 bytes in base64 (head -c 32 /dev/urandom | base64)", id))
		case seen[id]:
			return c, Bad(setting, "", fmt.Sprintf("key id %q given twice", id))
		}
		seen[id] = true
		c.Keys = append(c.Keys, codec.Key{ID: id, Key: k})
	}
	if c.Tokens, _, err = listSetting(CodecTokensEnv, CodecTokensFileEnv); err != nil {
		return c, err
	}
	return c, nil
}

// listSetting reads a comma- or newline-separated list from the variable
// env, or else from the file named by fileEnv; setting is where it came
// from, for messages. Setting both is an error: which one wins would be a
// guess.
func listSetting(env, fileEnv string) (items []string, setting string, err error) {
	v, path := os.Getenv(env), strings.TrimSpace(os.Getenv(fileEnv))
	setting = env
	if path != "" {
		if strings.TrimSpace(v) != "" {
			return nil, env, Bad(env, "", "set either "+env+" or "+fileEnv+", not both")
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fileEnv, Wrap(fileEnv, path, err, "want a readable file")
		}
		v, setting = string(b), fileEnv+" ("+path+")"
	}
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if f = strings.TrimSpace(f); f != "" && !strings.HasPrefix(f, "#") {
			items = append(items, f)
		}
	}
	return items, setting, nil
}
