/** Profiles and value sets whose canonical URL starts here are the directory's own. */
export const DIRECTORY_CANONICAL = 'https://fhir-directory.example.org/fhir';
