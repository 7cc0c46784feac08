package config

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCodecVariables(t *testing.T) {
	k1 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	k2 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	t.Setenv(CodecKeysEnv, "new:"+k1+", old:"+k2)
	t.Setenv(CodecTokensEnv, "tok-a,tok-b")
	c, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Codec.Keys) != 2 || c.Codec.Keys[0].ID != "new" || c.Codec.Keys[1].ID != "old" || c.Codec.Keys[1].Key[0] != 2 {
		t.Fatalf("keys %v", c.Codec.Keys)
	}
	if strings.Join(c.Codec.Tokens, " ") != "tok-a tok-b" {
		t.Fatalf("tokens %q", c.Codec.Tokens)
	}
	if cc, err := c.Codec.New(); err != nil || cc == nil {
		t.Fatalf("codec %v, %v", cc, err)
	}

	// From files, comments and blank lines skipped.
	dir := t.TempDir()
	kf, tf := filepath.Join(dir, "keys"), filepath.Join(dir, "tokens")
	os.WriteFile(kf, []byte("# current first\nk9:"+k2+"\n\n"), 0o600)
	os.WriteFile(tf, []byte("t1\n"), 0o600)
	t.Setenv(CodecKeysEnv, "")
	t.Setenv(CodecTokensEnv, "")
	t.Setenv(CodecKeysFileEnv, kf)
	t.Setenv(CodecTokensFileEnv, tf)
	if c, err = Read(); err != nil || len(c.Codec.Keys) != 1 || c.Codec.Keys[0].ID != "k9" || len(c.Codec.Tokens) != 1 {
		t.Fatalf("from files: %+v, %v", c, err)
	}
	t.Setenv(CodecKeysFileEnv, "")
	t.Setenv(CodecTokensFileEnv, "")
	if c, err = Read(); err != nil || len(c.Codec.Keys) != 0 {
		t.Fatalf("unset: %v, %v", c.Codec.Keys, err)
	}
	if cc, err := c.Codec.New(); err != nil || cc != nil {
		t.Fatalf("no keys gave codec %v, %v", cc, err)
	}

	secret := base64.StdEncoding.EncodeToString([]byte("sixteen-byte-key"))
	for _, tc := range []struct{ env, value, want string }{
		{CodecKeysEnv, "nocolon", "entry 1: want ID:KEY"},
		{CodecKeysEnv, "a:" + secret, `key "a": want 32 bytes`},
		{CodecKeysEnv, "a:" + k1 + ",a:" + k2, `key id "a" given twice`},
		{CodecKeysFileEnv, filepath.Join(dir, "missing"), CodecKeysFileEnv},
	} {
		t.Run(tc.want, func(t *testing.T) {
			t.Setenv(tc.env, tc.value)
			_, err := Read()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), k1) {
				t.Fatalf("error quotes key material: %v", err)
			}
		})
	}
	t.Setenv(CodecKeysEnv, "a:"+k1)
	t.Setenv(CodecKeysFileEnv, kf)
	if _, err := Read(); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("both set: %v", err)
	}
}
