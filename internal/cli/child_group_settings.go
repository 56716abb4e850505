package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/lab/group/settings"
)

// newChildGroupSettingsMemberCmd is the autocommit experiment's member
// process: it must be a process so that it can die of a SIGKILL.
func newChildGroupSettingsMemberCmd() *cobra.Command {
	return wired(&cobra.Command{
		Use:                "group-settings-member",
		Short:              "one consumer process of 'lab group-settings' (autocommit experiment)",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := settings.MemberMain(cmd.Context(), args, cmd.OutOrStdout(), cmd.ErrOrStderr()); code != 0 {
				return &exitError{code: code, err: errors.New("group-settings member failed")}
			}
			return nil
		},
	})
}
