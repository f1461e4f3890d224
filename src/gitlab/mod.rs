//! GitLab REST client (typed, thin) and a faithful fake GitLab.
