//go:build unix

package tui

import (
	"os"
	"os/signal"
	"syscall"

	tea "github.com/charmbracelet/bubbletea"
)

// suspendOnSignal makes SIGTSTP (ctrl+z in the app, a job-control stop
// from outside) suspend the app: the terminal is given back, the process
// stops (SIGSTOP: once notified of SIGTSTP, Go can no longer take its
// default action), and after `fg` the terminal is taken and redrawn.
func suspendOnSignal(p *tea.Program) (stop func()) {
	tstp := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(tstp, syscall.SIGTSTP)
	go func() {
		for {
			select {
			case <-done:
				return
			case <-tstp:
			}
			if err := p.ReleaseTerminal(); err != nil {
				continue
			}
			// kill can return before the stop lands: wait for the
			// SIGCONT of `fg`, or raw mode would be set before the stop
			// and the shell's modes restored over it after.
			cont := make(chan os.Signal, 1)
			signal.Notify(cont, syscall.SIGCONT)
			if syscall.Kill(0, syscall.SIGSTOP) == nil { // the job
				select {
				case <-cont:
				case <-done:
				}
			}
			signal.Stop(cont)
			_ = p.RestoreTerminal()
			p.Send(resumedMsg{})
		}
	}()
	return func() {
		close(done)
		signal.Stop(tstp)
	}
}

// suspendSelf (ctrl+z) stops the process as the shell's job control
// would.
func suspendSelf() tea.Msg {
	_ = syscall.Kill(os.Getpid(), syscall.SIGTSTP)
	return nil
}
