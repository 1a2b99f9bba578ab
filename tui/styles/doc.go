// Package styles is the terminal app's one set of colours and styles.
//
// A [Theme] names colours; [New] builds the [Styles] every component uses
// from a theme and a lipgloss renderer. [Dark] and [Light] are the themes;
// [Pick] chooses one for a terminal (dark or light background, NO_COLOR).
// Components never hard-code colours.
package styles
