package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/lab/group"
)

// newChildGroupMemberCmd is one member process of `kpar lab group`: a plain
// franz-go member or kpar's parallel consumer, printing a JSON line per
// processed record and per assignment change on stdout.
func newChildGroupMemberCmd() *cobra.Command {
	return wired(&cobra.Command{
		Use:                "group-member",
		Short:              "one consumer-group member of 'lab group'",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := group.MemberMain(cmd.Context(), args, cmd.OutOrStdout(), cmd.ErrOrStderr()); code != 0 {
				return &exitError{code: code, err: errors.New("group member failed")}
			}
			return nil
		},
	})
}
