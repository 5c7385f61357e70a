// main() of the integration binary: gtest's, plus the one job ctest's fixture asks of it.
//
//   pgsluice_integration_tests --make-cluster-template DIR
// runs initdb once into DIR (see makeClusterTemplate), which every suite's TestClusters then copy
// when $PGSLUICE_TEST_CLUSTER_TEMPLATE names it. Anything else is a gtest command line.

#include <gtest/gtest.h>

#include <cstdio>
#include <exception>
#include <string_view>

#include "pg_cluster.hpp"

int main(int argc, char** argv) {
    if (argc >= 2 && std::string_view(argv[1]) == "--make-cluster-template") {
        if (argc != 3) {
            std::fprintf(stderr, "usage: %s --make-cluster-template DIR\n", argv[0]);
            return 2;
        }
        try {
            pgsluice::integration::makeClusterTemplate(argv[2]);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "cannot make the cluster template %s: %s\n", argv[2], e.what());
            return 1;
        }
        std::printf("cluster template ready in %s\n", argv[2]);
        return 0;
    }
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
