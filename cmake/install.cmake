# What `cmake --install build [--prefix DIR]` puts where: the binary, the
# systemd unit (naming the installed binary), the sample configs and the
# documentation.
include(GNUInstallDirs)
if(NOT TARGET shelfsync) # a tree built without api/ (SHELFSYNC_SKIP)
  return()
endif()

install(TARGETS shelfsync RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The unit names the binary by its installed path, which depends on the
# prefix given at install time: it is written then.
set(unit_template "${PROJECT_SOURCE_DIR}/dist/shelfsync.service.in")
install(CODE "
  set(prefix \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}\")
  set(SHELFSYNC_INSTALLED_BINARY
      \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/shelfsync\")
  set(SHELFSYNC_INSTALLED_DOCS
      \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}\")
  message(STATUS \"Installing: \${prefix}/lib/systemd/system/shelfsync.service\")
  configure_file(\"${unit_template}\"
                 \"\${prefix}/lib/systemd/system/shelfsync.service\" @ONLY)
")

install(FILES config/shopify.sample.json config/amazon.sample.json
              config/example.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/shelfsync)
# A cluster's NATS server and node configs (README, "Running a cluster").
install(DIRECTORY config/cluster/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/shelfsync/cluster)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
