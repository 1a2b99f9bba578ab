package hint

import (
	"errors"
	"fmt"
	"testing"
)

func TestHintSurvivesWrapping(t *testing.T) {
	base := errors.New("wrong passphrase")
	err := fmt.Errorf("vault: open: %w", New(base, "try again"))
	if got := Of(err); got != "try again" {
		t.Fatalf("Of() = %q, want %q", got, "try again")
	}
	if !errors.Is(err, base) {
		t.Fatal("errors.Is lost the wrapped error")
	}
	if New(nil, "x") != nil {
		t.Fatal("New(nil) must stay nil")
	}
	if Of(base) != "" {
		t.Fatal("an error without a hint has none")
	}
}
