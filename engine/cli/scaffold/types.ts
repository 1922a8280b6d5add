/** One file of a scaffolded project: its path inside the project and its text. */
export interface ScaffoldFile {
  path: string;
  text: string;
}

/** What the templates are filled with. */
export interface ScaffoldSpec {
  /** The project's name (package and crate): the directory's name, made a valid one. */
  name: string;
  /** The `dwe` dev dependency: this dwe's version, or `file:` its checkout when it is not an installed package. */
  dweDependency: string;
  assemblyscriptVersion: string;
  /** The Rust SDK's directory in this dwe. */
  rustSdk: string;
}
