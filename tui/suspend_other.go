//go:build !unix

package tui

import tea "github.com/charmbracelet/bubbletea"

func suspendOnSignal(*tea.Program) func() { return func() {} }

func suspendSelf() tea.Msg { return tea.SuspendMsg{} }
