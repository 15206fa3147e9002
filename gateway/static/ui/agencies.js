// Naming agencies on the page. The catalogue's titles are sentences that say
// what each agency holds (panel headings use them); labels on charts, badges
// and lists need a short name.

// "nhs" → "NHS", "council" → "Council".
export function shortTitle(agency) {
  const name = agency.name;
  return name.length <= 3 ? name.toUpperCase() : name.charAt(0).toUpperCase() + name.slice(1);
}

// The short name of the agency called `name`, or the name itself if the catalogue lacks it.
export function agencyLabel(agencies, name) {
  const agency = agencies.find((a) => a.name === name);
  return agency ? shortTitle(agency) : name;
}
