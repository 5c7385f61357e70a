# Install rules and the Debian package (CPack). Included by CMakeLists.txt after the pgsluice
# target exists. The version everywhere (man page, package, changelog) is PROJECT_VERSION.
#
#   cmake --install build --prefix P     P/bin/pgsluice, P/share/man/man1/pgsluice.1, the bash
#                                        and zsh completions, P/share/doc/pgsluice/
#   scripts/package.sh                   pgsluice_<version>_amd64.deb through cpack -G DEB

include(GNUInstallDirs)

# `cmake --install` and cpack install what is built; they never start a build of every target
# (the tests and benchmarks) themselves.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

# Maintained sources with the version filled in at configure time.
set(PGSLUICE_MAN_PAGE ${CMAKE_BINARY_DIR}/generated/man/pgsluice.1)
configure_file(${CMAKE_SOURCE_DIR}/docs/pgsluice.1.in ${PGSLUICE_MAN_PAGE} @ONLY)

install(TARGETS pgsluice RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PGSLUICE_MAN_PAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${CMAKE_SOURCE_DIR}/completions/pgsluice.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME pgsluice)
install(FILES ${CMAKE_SOURCE_DIR}/completions/_pgsluice
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CMAKE_SOURCE_DIR}/docs/rules.md ${CMAKE_SOURCE_DIR}/docs/archive-format.md
              ${CMAKE_SOURCE_DIR}/docs/scheduling.md ${CMAKE_SOURCE_DIR}/docs/scan.md
              ${CMAKE_SOURCE_DIR}/docs/output-formats.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# --- Debian package -------------------------------------------------------------------------
set(PGSLUICE_DEB_MAINTAINER
    "pgsluice maintainers <maintainers@users.noreply.b-seed-4f309fe8.example>"
    CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pgsluice)
set(CPACK_PACKAGE_VENDOR "pgsluice")
set(CPACK_PACKAGE_CONTACT "${PGSLUICE_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "copy a PostgreSQL database fast, leaving out and rewriting data")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES TRUE)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/package)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # pgsluice_<version>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/pgsluice/pgsluice")
# Depends: the shared libraries the binary links (dpkg-shlibdeps), plus the client tools it runs
# (pg_dump, pg_restore).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "postgresql-client")
# The long description; the summary line above is its first line in the control file.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "pgsluice copies a PostgreSQL database from one server to another over many
parallel COPY connections in one consistent snapshot, or through a compressed
archive file or pipe (dump, restore). Tables can be left out with pg_dump
patterns, personal data is rewritten in flight by a rules file, the source is
only ever opened read-only, and verify proves the copy matches the source.")
# Directories 0755 whatever the umask of whoever builds the package.
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
# Runs in the staging tree after the install step: the copyright file, the Debian changelog,
# and compressed man page and changelog, as Debian policy wants them.
configure_file(${CMAKE_SOURCE_DIR}/cmake/deb_finish.cmake.in
               ${CMAKE_BINARY_DIR}/generated/deb_finish.cmake @ONLY)
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_BINARY_DIR}/generated/deb_finish.cmake)
include(CPack)
